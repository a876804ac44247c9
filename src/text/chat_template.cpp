// ChatML rendering, recognition of ChatML Jinja templates, and the Jinja text lethe writes.
#include "text/chat_template.h"

#include "core/error.h"

namespace lethe::text {

const char* const kQwen25DefaultSystem =
    "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

namespace {

const std::string kImStart = "<|im_start|>";
const std::string kImEnd = "<|im_end|>";

// Reads a Jinja string literal's body starting at `pos` until `stop` (unescaped) or a closing
// quote. Returns false when the literal ends before `stop`.
bool read_literal_until(const std::string& jinja, size_t pos, const std::string& stop,
                        std::string* out) {
  out->clear();
  while (pos < jinja.size()) {
    if (jinja.compare(pos, stop.size(), stop) == 0) return true;
    char c = jinja[pos];
    if (c == '\'' || c == '"') return false;
    if (c == '\\' && pos + 1 < jinja.size()) {
      char e = jinja[pos + 1];
      out->push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e);
      pos += 2;
      continue;
    }
    out->push_back(c);
    ++pos;
  }
  return false;
}

std::string jinja_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\'':
        out += "\\'";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace

ChatTemplate ChatTemplate::chatml(std::optional<std::string> default_system) {
  ChatTemplate t;
  t.default_system_ = std::move(default_system);
  return t;
}

ChatTemplate ChatTemplate::from_jinja(const std::string& jinja, const std::string& where) {
  if (jinja.find(kImStart) == std::string::npos || jinja.find(kImEnd) == std::string::npos) {
    LETHE_FAIL(where,
               ": unsupported chat_template (lethe renders ChatML templates such as "
               "Qwen2.5-Instruct's, which use <|im_start|> and <|im_end|>; this one does not)");
  }
  // The default system prompt is the one literal that holds a whole system turn.
  const std::string marker = kImStart + "system\\n";
  std::optional<std::string> default_system;
  for (size_t pos = jinja.find(marker); pos != std::string::npos;
       pos = jinja.find(marker, pos + 1)) {
    std::string body;
    if (read_literal_until(jinja, pos + marker.size(), kImEnd, &body)) {
      default_system = body;
      break;
    }
  }
  return chatml(default_system);
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages,
                                 bool add_generation_prompt) const {
  std::string out;
  if ((messages.empty() || messages[0].role != "system") && default_system_)
    out += kImStart + "system\n" + *default_system_ + kImEnd + "\n";
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    LETHE_CHECK(m.role == "system" || m.role == "user" || m.role == "assistant", "chat message ", i,
                ": unsupported role '", m.role, "' (expected system, user or assistant)");
    out += kImStart + m.role + "\n" + m.content + kImEnd + "\n";
  }
  if (add_generation_prompt) out += generation_prompt();
  return out;
}

std::string ChatTemplate::generation_prompt() const { return kImStart + "assistant\n"; }

std::string ChatTemplate::end_of_turn() const { return kImEnd; }

std::string ChatTemplate::to_jinja() const {
  std::string t;
  t += "{%- if messages and messages[0]['role'] == 'system' %}\n";
  t += "    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n";
  if (default_system_) {
    t += "{%- else %}\n";
    t += "    {{- '<|im_start|>system\\n" + jinja_escape(*default_system_) + "<|im_end|>\\n' }}\n";
  }
  t += "{%- endif %}\n";
  t += "{%- for message in messages %}\n";
  t += "    {%- if not (message['role'] == 'system' and loop.first) %}\n";
  t += "        {{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
       "'<|im_end|>\\n' }}\n";
  t += "    {%- endif %}\n";
  t += "{%- endfor %}\n";
  t += "{%- if add_generation_prompt %}\n";
  t += "    {{- '<|im_start|>assistant\\n' }}\n";
  t += "{%- endif %}\n";
  return t;
}

}  // namespace lethe::text
