#pragma once
// data_error: a data set that cannot be found or read as the library expects
// (a missing file, a wrong magic number, truncated or corrupt data). A
// file_error, so its message starts with the path concerned.
//
//   try { auto train = typenet::load_idx_dataset("data/mnist", "train"); }
//   catch (const typenet::data_error& e) {
//     std::cerr << e.what() << '\n';   // "data/mnist/train-images-idx3-ubyte.gz: truncated: ..."
//   }
#include "typenet/io/file_error.hpp"

namespace typenet {

class data_error : public file_error {
public:
  using file_error::file_error;
};

}  // namespace typenet
