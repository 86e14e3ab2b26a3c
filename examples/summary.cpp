// Prints the summary of ref11k, the course's reference network; every number
// in it is a compile-time constant.
#include <iostream>

#include "ref11k.hpp"

int main() { typenet::print_summary<examples::ref11k>(std::cout); }
