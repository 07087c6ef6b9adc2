// The compiled parts of Asio and Beast, built once for the whole program
// instead of in every file that includes them (BOOST_ASIO_SEPARATE_COMPILATION
// and BOOST_BEAST_SEPARATE_COMPILATION are set on ledger_http, see
// CMakeLists.txt). No other file may include these two headers.

// GCC 12 reports warnings inside Asio and Beast after inlining, despite the
// system-header location: -Wnull-dereference in the scheduler,
// -Wmaybe-uninitialized in Beast's parser (sanitizer builds), and -Wtsan
// (TSan builds) for the fence of Asio's handler invocation, which is
// redundant with the scheduler's mutex that TSan does see.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wtsan"
#endif
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
#pragma GCC diagnostic pop
