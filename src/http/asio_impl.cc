// The compiled parts of Asio (its SSL layer included) and Beast, built once for the whole program
// instead of in every file that includes them (BOOST_ASIO_SEPARATE_COMPILATION
// and BOOST_BEAST_SEPARATE_COMPILATION are set on ledger_http, see
// CMakeLists.txt). No other file may include these two headers.

// The Boost headers must stay between these two.
// clang-format off
#include "http/boost_warnings_begin.h"
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
#include "http/boost_warnings_end.h"
// clang-format on
