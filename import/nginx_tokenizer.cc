#include "import/nginx_tokenizer.h"

namespace sy::importer {
namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Reads `text` one byte at a time, keeping the line and column of the next byte.
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}
  bool done() const { return pos_ >= text_.size(); }
  char peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  char next() {
    const char c = text_[pos_++];
    if (c == '\n') {
      ++line_;
      column_ = 1;
    } else {
      ++column_;
    }
    return c;
  }
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
  int column_ = 1;
};

// The character a backslash escape stands for; nullopt when the backslash stays (nginx keeps
// "\d" as two characters, which matters in regular expressions).
std::optional<char> unescape(char c) {
  switch (c) {
    case '"':
    case '\'':
    case '\\':
      return c;
    case 't':
      return '\t';
    case 'r':
      return '\r';
    case 'n':
      return '\n';
    default:
      return std::nullopt;
  }
}

void appendEscape(Reader& reader, std::string& out) {
  const char escaped = reader.next();
  if (const std::optional<char> plain = unescape(escaped)) {
    out += *plain;
  } else {
    out += '\\';
    out += escaped;
  }
}

}  // namespace

TokenizeResult tokenizeNginx(std::string_view text, const std::string& file) {
  TokenizeResult result;
  Reader reader(text);
  auto fail = [&](int line, int column, std::string message) {
    result.error = NginxSyntaxError{{file, line, column}, std::move(message)};
    return result;
  };
  while (!reader.done()) {
    const char c = reader.peek();
    if (isSpace(c)) {
      reader.next();
      continue;
    }
    NginxToken token;
    token.line = reader.line();
    token.column = reader.column();
    if (c == '#') {
      while (!reader.done() && reader.peek() != '\n') reader.next();
      continue;
    }
    if (c == ';' || c == '{' || c == '}') {
      reader.next();
      token.kind = c == ';'   ? NginxToken::Kind::kSemicolon
                   : c == '{' ? NginxToken::Kind::kOpenBrace
                              : NginxToken::Kind::kCloseBrace;
      token.text = std::string(1, c);
      result.tokens.push_back(std::move(token));
      continue;
    }
    if (c == '"' || c == '\'') {
      const char quote = reader.next();
      token.quoted = true;
      bool closed = false;
      while (!reader.done()) {
        const char d = reader.next();
        if (d == quote) {
          closed = true;
          break;
        }
        if (d == '\\' && !reader.done()) {
          appendEscape(reader, token.text);
        } else {
          token.text += d;
        }
      }
      if (!closed) {
        return fail(token.line, token.column,
                    std::string("unexpected end of file, expecting ") + quote +
                        " to close the string started here");
      }
      // nginx wants a separator right after a string: "a"b is an error, not a word.
      const char after = reader.peek();
      if (!reader.done() && !isSpace(after) && after != ';' && after != '{' && after != ')') {
        return fail(reader.line(), reader.column(),
                    std::string("unexpected \"") + after + "\" after a quoted string");
      }
      result.tokens.push_back(std::move(token));
      continue;
    }
    // A bare word: up to whitespace or a separator, with `\` escapes and `${...}` kept whole.
    while (!reader.done()) {
      const char d = reader.peek();
      if (isSpace(d) || d == ';' || d == '}') break;
      if (d == '{') {
        if (token.text.empty() || token.text.back() != '$') break;
        // ${name}: the braces belong to the variable, up to the closing brace.
        while (!reader.done() && reader.peek() != '}') token.text += reader.next();
        if (reader.done()) {
          return fail(reader.line(), reader.column(),
                      "unexpected end of file, expecting \"}\" to close a ${variable}");
        }
        token.text += reader.next();
        continue;
      }
      reader.next();
      if (d == '\\' && !reader.done()) {
        appendEscape(reader, token.text);
      } else {
        token.text += d;
      }
    }
    result.tokens.push_back(std::move(token));
  }
  return result;
}

}  // namespace sy::importer
