#include "commands/command.h"

#include <type_traits>

namespace ledger::commands {

int64_t TargetPost(const Command& command) {
  return std::visit(
      [](const auto& c) -> int64_t {
        if constexpr (std::is_same_v<std::decay_t<decltype(c)>, CreatePosts>) {
          return 0;
        } else {
          return c.post_id;
        }
      },
      command);
}

}  // namespace ledger::commands
