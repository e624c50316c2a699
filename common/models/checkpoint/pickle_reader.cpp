#include "common/models/checkpoint/pickle_reader.h"

#include <torch/torch.h>

#include <cstring>
#include <map>

#include "common/util/error.h"

namespace cfm::pickle {
namespace {

ValuePtr make(Value::Kind kind) {
  auto v = std::make_shared<Value>();
  v->kind = kind;
  return v;
}

at::ScalarType storage_dtype(const std::string& name, const std::string& where) {
  static const std::map<std::string, at::ScalarType> kTypes = {
      {"torch.FloatStorage", at::kFloat}, {"torch.DoubleStorage", at::kDouble},
      {"torch.HalfStorage", at::kHalf},   {"torch.BFloat16Storage", at::kBFloat16},
      {"torch.LongStorage", at::kLong},   {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort}, {"torch.CharStorage", at::kChar},
      {"torch.ByteStorage", at::kByte},   {"torch.BoolStorage", at::kBool}};
  auto it = kTypes.find(name);
  if (it == kTypes.end()) throw FormatError(where, "unsupported tensor storage type " + name);
  return it->second;
}

std::vector<std::int64_t> int_tuple(const ValuePtr& v) {
  std::vector<std::int64_t> out;
  for (const ValuePtr& item : v->items) out.push_back(item->integer);
  return out;
}

class Machine {
 public:
  Machine(const std::string& bytes, const StorageLoader& loader, const std::string& where)
      : bytes_(bytes), loader_(loader), where_(where) {}

  ValuePtr run() {
    while (true) {
      std::uint8_t op = byte();
      switch (op) {
        case 0x80:
          byte();
          break;  // PROTO
        case 0x95:
          take(8);
          break;  // FRAME
        case '}':
          push(make(Value::Kind::Dict));
          break;
        case ']':
          push(make(Value::Kind::List));
          break;
        case ')':
          push(make(Value::Kind::Tuple));
          break;
        case 0x8f:
          push(make(Value::Kind::List));
          break;  // EMPTY_SET (kept as a list)
        case '(':
          marks_.push_back(stack_.size());
          break;
        case 's': {
          ValuePtr value = pop(), key = pop();
          top(Value::Kind::Dict)->entries.emplace_back(key, value);
          break;
        }
        case 'u': {
          auto items = pop_mark();
          ValuePtr dict = top(Value::Kind::Dict);
          for (std::size_t i = 0; i + 1 < items.size(); i += 2)
            dict->entries.emplace_back(items[i], items[i + 1]);
          break;
        }
        case 'a': {
          ValuePtr value = pop();
          top_list()->items.push_back(value);
          break;
        }
        case 'e':
        case 0x90: {
          auto items = pop_mark();
          ValuePtr list = top_list();
          list->items.insert(list->items.end(), items.begin(), items.end());
          break;
        }
        case 't':
        case 0x91: {
          auto t = make(Value::Kind::Tuple);
          t->items = pop_mark();
          push(t);
          break;
        }
        case 0x85:
        case 0x86:
        case 0x87: {
          auto t = make(Value::Kind::Tuple);
          t->items.resize(op - 0x84);
          for (auto it = t->items.rbegin(); it != t->items.rend(); ++it) *it = pop();
          push(t);
          break;
        }
        case 'X':
          push_string(take(u32()));
          break;
        case 0x8c:
        case 'U':
        case 'C':
          push_string(take(byte()));
          break;
        case 0x8d:
        case 0x8e:
          push_string(take(static_cast<std::size_t>(u64())));
          break;
        case 'T':
        case 'B':
          push_string(take(u32()));
          break;
        case 'q':
          memo_[byte()] = back();
          break;
        case 'r':
          memo_[u32()] = back();
          break;
        case 0x94:
          memo_[static_cast<std::int64_t>(memo_.size())] = back();
          break;
        case 'h':
          push(memo_at(byte()));
          break;
        case 'j':
          push(memo_at(u32()));
          break;
        case 'J': {
          std::int32_t v;
          std::memcpy(&v, take(4).data(), 4);
          push_int(v);
          break;
        }
        case 'K':
          push_int(byte());
          break;
        case 'M': {
          std::uint16_t v;
          std::memcpy(&v, take(2).data(), 2);
          push_int(v);
          break;
        }
        case 0x8a:
          push_int(little_endian_long(take(byte())));
          break;
        case 0x8b:
          push_int(little_endian_long(take(u32())));
          break;
        case 'G': {
          std::string b = take(8);
          std::uint64_t bits = 0;
          for (unsigned char c : b) bits = (bits << 8) | c;
          auto v = make(Value::Kind::Float);
          std::memcpy(&v->real, &bits, 8);
          push(v);
          break;
        }
        case 0x88:
        case 0x89: {
          auto v = make(Value::Kind::Bool);
          v->boolean = op == 0x88;
          push(v);
          break;
        }
        case 'N':
          push(make(Value::Kind::None));
          break;
        case 'c': {
          std::string module = line(), name = line();
          push_global(module + "." + name);
          break;
        }
        case 0x93: {
          ValuePtr name = pop(), module = pop();
          push_global(module->text + "." + name->text);
          break;
        }
        case 'R': {
          ValuePtr args = pop(), callable = pop();
          push(reduce(callable, args));
          break;
        }
        case 0x81: {
          ValuePtr args = pop(), cls = pop();
          push(reduce(cls, args));
          break;
        }
        case 0x92: {
          pop();
          ValuePtr args = pop(), cls = pop();
          push(reduce(cls, args));
          break;
        }
        case 'b':
          pop();
          break;  // BUILD: object state (e.g. OrderedDict._metadata) is not needed
        case 'Q':
          push(persistent(pop()));
          break;
        case '.':
          return pop();
        default:
          throw FormatError(
              where_, "unsupported pickle opcode 0x" + hex(op) + " at byte " + std::to_string(position_ - 1));
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    throw FormatError(where_, "corrupt pickle data: " + what + " at byte " + std::to_string(position_));
  }
  static std::string hex(unsigned v) {
    const char* digits = "0123456789abcdef";
    return std::string{digits[(v >> 4) & 15], digits[v & 15]};
  }
  std::uint8_t byte() {
    if (position_ >= bytes_.size()) fail("unexpected end");
    return static_cast<std::uint8_t>(bytes_[position_++]);
  }
  std::string take(std::size_t n) {
    if (position_ + n > bytes_.size()) fail("unexpected end");
    std::string s = bytes_.substr(position_, n);
    position_ += n;
    return s;
  }
  std::uint32_t u32() {
    std::uint32_t v;
    std::memcpy(&v, take(4).data(), 4);
    return v;
  }
  std::uint64_t u64() {
    std::uint64_t v;
    std::memcpy(&v, take(8).data(), 8);
    return v;
  }
  std::string line() {
    std::size_t end = bytes_.find('\n', position_);
    if (end == std::string::npos) fail("unterminated GLOBAL");
    std::string s = bytes_.substr(position_, end - position_);
    position_ = end + 1;
    return s;
  }
  static std::int64_t little_endian_long(const std::string& b) {
    if (b.empty()) return 0;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < b.size() && i < 8; ++i)
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(b[i])) << (8 * i);
    if (b.size() < 8 && (static_cast<unsigned char>(b.back()) & 0x80))
      v |= ~0ull << (8 * b.size());  // sign-extend
    return static_cast<std::int64_t>(v);
  }
  void push(ValuePtr v) { stack_.push_back(std::move(v)); }
  ValuePtr pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("stack underflow");
    ValuePtr v = stack_.back();
    stack_.pop_back();
    return v;
  }
  ValuePtr back() {
    if (stack_.empty()) fail("memo of an empty stack");
    return stack_.back();
  }
  ValuePtr top(Value::Kind kind) {
    ValuePtr v = back();
    if (v->kind != kind && v->kind != Value::Kind::Object) fail("container of the wrong type");
    if (v->kind == Value::Kind::Object) v->kind = kind;  // e.g. OrderedDict created by REDUCE
    return v;
  }
  ValuePtr top_list() {
    ValuePtr v = back();
    if (v->kind != Value::Kind::List) fail("APPEND to a non-list");
    return v;
  }
  std::vector<ValuePtr> pop_mark() {
    if (marks_.empty()) fail("no MARK");
    std::size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  ValuePtr memo_at(std::int64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) fail("unknown memo key " + std::to_string(key));
    return it->second;
  }
  void push_string(const std::string& s) {
    auto v = make(Value::Kind::String);
    v->text = s;
    push(v);
  }
  void push_int(std::int64_t i) {
    auto v = make(Value::Kind::Int);
    v->integer = i;
    push(v);
  }
  void push_global(const std::string& name) {
    auto v = make(Value::Kind::Global);
    v->text = name;
    push(v);
  }

  ValuePtr reduce(const ValuePtr& callable, const ValuePtr& args) {
    const std::string& name = callable->text;
    if (name == "collections.OrderedDict" || name == "builtins.dict") return make(Value::Kind::Dict);
    if (name == "builtins.set" || name == "builtins.frozenset" || name == "builtins.list") {
      auto v = make(Value::Kind::List);
      if (!args->items.empty()) v->items = args->items[0]->items;
      return v;
    }
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      if (args->items.size() < 4 || args->items[0]->kind != Value::Kind::Storage)
        fail("bad tensor arguments");
      auto v = make(Value::Kind::Tensor);
      v->tensor = args->items[0]->tensor.as_strided(int_tuple(args->items[2]), int_tuple(args->items[3]),
                                                    args->items[1]->integer);
      return v;
    }
    if (name == "torch.jit._pickle.restore_type_tag") {  // LibTorch's pickler wraps typed dicts/lists
      if (args->items.empty()) fail("bad restore_type_tag arguments");
      return args->items[0];
    }
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
      if (args->items.empty() || args->items[0]->kind != Value::Kind::Tensor) fail("bad parameter arguments");
      return args->items[0];
    }
    auto v = make(Value::Kind::Object);  // any other class: opaque, skipped by readers
    v->text = name;
    return v;
  }

  ValuePtr persistent(const ValuePtr& id) {
    // ('storage', <storage class>, key, location, numel)
    if (id->kind != Value::Kind::Tuple || id->items.size() < 5 || id->items[0]->text != "storage")
      fail("unsupported persistent id");
    const std::string& key = id->items[2]->text;
    auto cached = storages_.find(key);
    if (cached != storages_.end()) return cached->second;
    auto v = make(Value::Kind::Storage);
    v->tensor = loader_(key, storage_dtype(id->items[1]->text, where_), id->items[4]->integer);
    storages_[key] = v;
    return v;
  }

  const std::string& bytes_;
  const StorageLoader& loader_;
  const std::string& where_;
  std::size_t position_ = 0;
  std::vector<ValuePtr> stack_;
  std::vector<std::size_t> marks_;
  std::map<std::int64_t, ValuePtr> memo_;
  std::map<std::string, ValuePtr> storages_;
};

}  // namespace

ValuePtr unpickle(const std::string& bytes, const StorageLoader& load_storage, const std::string& where) {
  return Machine(bytes, load_storage, where).run();
}

}  // namespace cfm::pickle
