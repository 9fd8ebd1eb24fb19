// Building the inputs of a run: given tensors, plus seeded random ones for the rest.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "ir/graph.h"

namespace eqopt {

struct FeedOptions {
  uint64_t seed = 0;
  std::map<std::string, Dims> input_dims;  // from --input-shape
};

// Returns a value for every runtime input of the main graph. Inputs missing from `given` get random
// values: floats uniform in [-1, 1), integers uniform in [0, 8), bools fair coin flips. Throws Error
// naming the input when its shape has unknown dims and none was given, or when a given tensor does
// not fit the declared type.
std::map<std::string, Tensor> make_feeds(const Model& model, const std::map<std::string, Tensor>& given,
                                         const FeedOptions& options);

// Deterministic across platforms (no std:: distributions).
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next();
  double uniform();  // [0, 1)
 private:
  uint64_t state_;
};

}  // namespace eqopt
