// The C++ API of eqopt's CPU runtime: load a plan, bind inputs, run, read outputs.
#include <cstdio>
#include <map>

#include "runtime/session.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: runtime_api PLAN\n");
    return 2;
  }
  try {
    eqopt::rt::Session session(eqopt::rt::load_plan(argv[1]), {.threads = 1});
    // Every input filled with 0.5 (float) or 1 (other element types).
    std::map<std::string, eqopt::Tensor> feeds;
    for (const eqopt::rt::IoInfo& in : session.inputs()) {
      eqopt::Tensor t(in.dtype, in.shape);
      if (in.dtype == eqopt::DType::Float)
        for (int64_t i = 0; i < t.numel(); ++i) t.mutable_data<float>()[i] = 0.5f;
      feeds[in.name] = t;
      std::printf("input %s %s\n", in.name.c_str(), t.type_str().c_str());
    }
    const std::vector<eqopt::Tensor> outputs = session.run(feeds);
    const auto infos = session.outputs();
    for (size_t k = 0; k < outputs.size(); ++k) {
      double sum = 0;
      for (int64_t i = 0; i < outputs[k].numel(); ++i) sum += outputs[k].as_double(i);
      std::printf("output %s %s sum %.6g\n", infos[k].name.c_str(), outputs[k].type_str().c_str(), sum);
    }
    return 0;
  } catch (const eqopt::Error& e) {
    std::fprintf(stderr, "runtime_api: %s\n", e.what());
    return 2;
  }
}
