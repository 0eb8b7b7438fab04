// The one translation unit that compiles Asio's and Beast's implementation.
// Every other file includes their headers with BOOST_ASIO_SEPARATE_COMPILATION
// and BOOST_BEAST_SEPARATE_COMPILATION (set by the qtriage_asio target), so a
// change anywhere else never recompiles them.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
