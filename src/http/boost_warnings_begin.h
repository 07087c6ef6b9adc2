// Included right before Boost.Asio and Beast headers; boost_warnings_end.h
// right after them. GCC 12 reports warnings inside Asio and Beast after
// inlining, despite the system-header location: -Wnull-dereference in the
// scheduler and executor comparisons, -Wmaybe-uninitialized in Beast's parser
// (sanitizer builds), and -Wtsan (TSan builds) for the fence of Asio's handler
// invocation, which is redundant with the scheduler's mutex that TSan does see.
// No include guard: a file may need it around more than one group.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
// Clang (the fuzz build) has neither of these two and warns about the names.
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wtsan"
#endif
