#define BOOST_TEST_MODULE typenet
#include <boost/test/unit_test.hpp>
