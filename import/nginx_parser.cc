#include "import/nginx_parser.h"

#include "import/nginx_tokenizer.h"

namespace sy::importer {
namespace {

using Kind = NginxToken::Kind;

class Parser {
 public:
  Parser(std::vector<NginxToken> tokens, const std::string& file)
      : tokens_(std::move(tokens)), file_(file) {}

  ParseResult run() {
    ParseResult result;
    if (!parseBlock(result.directives, nullptr)) {
      result.directives.clear();
      result.error = error_;
    }
    return result;
  }

 private:
  bool fail(int line, int column, std::string message) {
    error_ = NginxSyntaxError{{file_, line, column}, std::move(message)};
    return false;
  }

  // Reads directives into `out` until the `}` that closes `opener` (or the end of the file in
  // the main context, where `opener` is null).
  bool parseBlock(std::vector<NginxDirective>& out, const NginxToken* opener) {
    while (pos_ < tokens_.size()) {
      const NginxToken& token = tokens_[pos_];
      if (token.kind == Kind::kCloseBrace) {
        if (opener == nullptr) return fail(token.line, token.column, "unexpected \"}\"");
        ++pos_;
        return true;
      }
      if (token.kind != Kind::kWord) {
        return fail(token.line, token.column, "unexpected \"" + token.text + "\"");
      }
      NginxDirective directive;
      directive.name = token.text;
      directive.position = {file_, token.line, token.column};
      ++pos_;
      while (pos_ < tokens_.size() && tokens_[pos_].kind == Kind::kWord) {
        const NginxToken& arg = tokens_[pos_++];
        directive.args.push_back({arg.text, arg.quoted, arg.line, arg.column});
      }
      if (pos_ >= tokens_.size()) {
        return fail(token.line, token.column,
                    "unexpected end of file: directive \"" + directive.name +
                        "\" is not terminated by \";\"");
      }
      const NginxToken& end = tokens_[pos_++];
      if (end.kind == Kind::kOpenBrace) {
        directive.has_block = true;
        if (!parseBlock(directive.block, &end)) return false;
      } else if (end.kind == Kind::kCloseBrace) {
        return fail(
            end.line, end.column,
            "unexpected \"}\": directive \"" + directive.name + "\" is not terminated by \";\"");
      }
      out.push_back(std::move(directive));
    }
    if (opener != nullptr) {
      return fail(opener->line, opener->column,
                  "unexpected end of file, expecting \"}\" to close the block opened here");
    }
    return true;
  }

  std::vector<NginxToken> tokens_;
  const std::string& file_;
  size_t pos_ = 0;
  NginxSyntaxError error_;
};

}  // namespace

ParseResult parseNginxText(std::string_view text, const std::string& file) {
  TokenizeResult tokens = tokenizeNginx(text, file);
  if (tokens.error) return {{}, tokens.error};
  return Parser(std::move(tokens.tokens), file).run();
}

}  // namespace sy::importer
