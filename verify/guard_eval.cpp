#include "verify/guard_eval.h"

namespace eqopt::verify::guard {

namespace {

// Terms are named by their variable; an instance's values are single tensors with static shapes.
// A leaf with a known value is one of the model's initializers, as is a symbolic weight.
class InstanceReader final : public rules::guard::Reader {
 public:
  explicit InstanceReader(const Env& env) : env_(env) {}

  Value variable(const std::string& name) const override {
    const Instance& in = *env_.instance;
    if (auto it = in.attr_sets.find(name); it != in.attr_sets.end()) {
      Value v;
      v.kind = Value::Kind::Attrs;
      v.attrs = it->second;
      return v;
    }
    if (auto it = in.attrs.find(name); it != in.attrs.end()) return from_attribute(it->second);
    if (name == "?root" || in.shapes.count(name)) return Value::of_term(0, name);
    throw Unknown{};  // not bound (yet)
  }
  TensorType type(const Value& t) const override {
    if (is_root(t)) {
      if (!env_.root || !env_.root->type.is_static()) throw Unknown{};
      return env_.root->type;
    }
    const Instance& in = *env_.instance;
    auto s = in.shapes.find(t.s);
    if (s == in.shapes.end()) throw Unknown{};
    auto d = in.dtypes.find(t.s);
    return TensorType::of(d == in.dtypes.end() ? DType::Float : d->second, s->second);
  }
  const Tensor* value(const Value& t) const override {
    type(t);
    if (is_root(t)) return nullptr;
    auto x = env_.instance->values.find(t.s);
    return x == env_.instance->values.end() ? nullptr : &x->second;
  }
  bool is_const(const Value& t) const override {
    if (is_root(t)) {
      type(t);
      return env_.root->constant;
    }
    return value(t) != nullptr;
  }
  bool is_weight(const Value& t) const override {
    if (is_root(t)) {
      type(t);
      return env_.root->weight;
    }
    return is_initializer(t);
  }
  bool is_initializer(const Value& t) const override {
    if (is_root(t)) {
      type(t);
      return false;
    }
    return value(t) != nullptr || env_.instance->weights.count(t.s) > 0;
  }
  int64_t outputs(const Value& t) const override {
    type(t);
    return 1;
  }

 private:
  static bool is_root(const Value& t) { return t.s == "?root"; }
  const Env& env_;
};

}  // namespace

Value eval(const rules::Expr& e, const Env& env) { return rules::guard::eval(e, InstanceReader(env), env.rule); }

bool holds(const rules::Expr& guard, const Env& env) {
  return rules::guard::holds(guard, InstanceReader(env), env.rule);
}

}  // namespace eqopt::verify::guard
