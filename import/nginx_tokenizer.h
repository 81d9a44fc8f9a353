#pragma once

// Splits the text of one nginx configuration file into tokens, following nginx's own reader
// (ngx_conf_read_token in src/core/ngx_conf_file.c): words separated by whitespace; `;`, `{`
// and `}` as separators; '...' and "..." strings; a backslash that escapes the next character
// (\t, \r and \n become control characters, \" \' \\ the character itself, anything else keeps
// the backslash); `#` starting a comment only at the start of a token; `${name}` kept inside a
// word.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "import/nginx_ast.h"

namespace sy::importer {

struct NginxToken {
  enum class Kind { kWord, kSemicolon, kOpenBrace, kCloseBrace };
  Kind kind = Kind::kWord;
  std::string text;     // the word, unquoted and unescaped
  bool quoted = false;  // the word was a quoted string
  int line = 0;         // 1-based
  int column = 0;       // 1-based, in bytes
};

// Every token of `text`, or the first syntax error (an unterminated string, a character glued
// to the end of a string). `file` is used in the error's position.
struct TokenizeResult {
  std::vector<NginxToken> tokens;
  std::optional<NginxSyntaxError> error;
};
TokenizeResult tokenizeNginx(std::string_view text, const std::string& file);

}  // namespace sy::importer
