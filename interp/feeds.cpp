#include "interp/feeds.h"

#include "interp/interpreter.h"

namespace eqopt {

uint64_t SplitMix64::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double SplitMix64::uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }

std::map<std::string, Tensor> make_feeds(const Model& model, const std::map<std::string, Tensor>& given,
                                         const FeedOptions& options) {
  std::map<std::string, Tensor> feeds;
  for (const auto& [name, t] : given) {
    const ValueInfo* in = model.graph.find_input(name);
    if (!in) {
      std::string names;
      for (const ValueInfo* v : model.graph.runtime_inputs()) names += (names.empty() ? "" : ", ") + v->name;
      fail("the model has no input named '", name, "' (its inputs: ", names, ")");
    }
    const std::string bad = type_mismatch(in->type, t);
    if (!bad.empty()) fail("input '", name, "' ", bad);
    feeds[name] = t;
  }
  SplitMix64 rng(options.seed);
  for (const ValueInfo* in : model.graph.runtime_inputs()) {
    if (feeds.count(in->name)) continue;
    if (!in->is_tensor) fail("input '", in->name, "' is not a tensor; give it with --input");
    Dims dims = in->type.dims ? *in->type.dims : Dims{};
    if (!in->type.dims && !options.input_dims.count(in->name))
      fail("input '", in->name, "' has unknown rank; give --input-shape ", in->name, "=... or --input");
    if (auto it = options.input_dims.find(in->name); it != options.input_dims.end()) {
      const Dims& o = it->second;
      if (in->type.dims && o.size() != dims.size())
        fail("input '", in->name, "' is ", in->type.str(), "; --input-shape gives rank ", o.size());
      for (size_t i = 0; i < o.size() && in->type.dims; ++i)
        if (dims[i].known() && o[i].known() && dims[i].value != o[i].value)
          fail("input '", in->name, "' is ", in->type.str(), "; --input-shape gives ", dims_str(o));
      dims = o;
    }
    Shape shape;
    for (const Dim& d : dims) {
      if (!d.known())
        fail("input '", in->name, "' has dynamic shape ", TensorType{in->type.dtype, dims}.str(),
             "; give --input-shape ", in->name, "=... or --input ", in->name, "=FILE");
      shape.push_back(d.value);
    }
    const DType dt = in->type.dtype;
    Tensor t(dt, shape);
    const int64_t n = t.numel();
    switch (dt) {
      case DType::Float: {
        float* p = t.mutable_data<float>();
        for (int64_t i = 0; i < n; ++i) p[i] = float(rng.uniform() * 2 - 1);
        break;
      }
      case DType::Double: {
        double* p = t.mutable_data<double>();
        for (int64_t i = 0; i < n; ++i) p[i] = rng.uniform() * 2 - 1;
        break;
      }
      case DType::Float16: {
        Half* p = t.mutable_data<Half>();
        for (int64_t i = 0; i < n; ++i) p[i] = float_to_half(float(rng.uniform() * 2 - 1));
        break;
      }
      case DType::Int64: {
        int64_t* p = t.mutable_data<int64_t>();
        for (int64_t i = 0; i < n; ++i) p[i] = int64_t(rng.next() % 8);
        break;
      }
      case DType::Int32: {
        int32_t* p = t.mutable_data<int32_t>();
        for (int64_t i = 0; i < n; ++i) p[i] = int32_t(rng.next() % 8);
        break;
      }
      case DType::Bool: {
        bool* p = t.mutable_data<bool>();
        for (int64_t i = 0; i < n; ++i) p[i] = (rng.next() & 1) != 0;
        break;
      }
      default:
        fail("input '", in->name, "' has element type ", dtype_short_name(dt),
             "; random values are made only for float32/float64/float16/int64/int32/bool, give it with --input");
    }
    feeds[in->name] = std::move(t);
  }
  return feeds;
}

}  // namespace eqopt
