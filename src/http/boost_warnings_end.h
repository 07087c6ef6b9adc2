// Ends boost_warnings_begin.h.
#pragma GCC diagnostic pop
