#include "http/path_normalizer.h"

#include <string>

#include "gtest/gtest.h"

namespace sy::http {
namespace {

using PathOutcome = NormalizedPath::Outcome;

// The target a backend would get: the normalised one, or the one received when unchanged.
std::string forwarded(std::string_view target, PathOptions options = {}) {
  const NormalizedPath result = normalizeRequestPath(target, options);
  if (result.outcome == PathOutcome::kInvalid) return "invalid: " + std::string(result.error);
  return result.outcome == PathOutcome::kUnchanged ? std::string(target) : result.target;
}

PathOutcome outcomeOf(std::string_view target, PathOptions options = {}) {
  return normalizeRequestPath(target, options).outcome;
}

TEST(PathNormalizerTest, NormalPathsAreUnchangedWithoutCopying) {
  for (const char* target : {"/", "/a", "/a/b/", "/a/b.c", "/a/...", "/a/..b", "/.well-known/x",
                             "/a?x=/../y", "/a?%2F", "/a-b_c~d"}) {
    const NormalizedPath result = normalizeRequestPath(target, {});
    EXPECT_EQ(result.outcome, PathOutcome::kUnchanged) << target;
    EXPECT_TRUE(result.target.empty()) << target;
  }
}

TEST(PathNormalizerTest, SingleDotSegmentsAreRemoved) {
  EXPECT_EQ(forwarded("/a/./b"), "/a/b");
  EXPECT_EQ(forwarded("/./a"), "/a");
  EXPECT_EQ(forwarded("/a/b/."), "/a/b/");  // RFC 3986 §5.2.4: a trailing dot leaves the slash
  EXPECT_EQ(forwarded("/."), "/");
  EXPECT_EQ(outcomeOf("/a/./b"), PathOutcome::kResolved);
}

TEST(PathNormalizerTest, DoubleDotSegmentsRemoveTheSegmentBefore) {
  EXPECT_EQ(forwarded("/public/../admin/echo"), "/admin/echo");
  EXPECT_EQ(forwarded("/a/b/../../c"), "/c");
  EXPECT_EQ(forwarded("/a/b/.."), "/a/");  // trailing "/..": the directory, with its slash
  EXPECT_EQ(forwarded("/a/.."), "/");
  EXPECT_EQ(outcomeOf("/public/../admin/echo"), PathOutcome::kResolved);
}

TEST(PathNormalizerTest, EncodedDotsAreDotsInAnyCase) {
  EXPECT_EQ(forwarded("/public/%2e%2e/admin/echo"), "/admin/echo");
  EXPECT_EQ(forwarded("/public/%2E%2E/admin/echo"), "/admin/echo");
  EXPECT_EQ(forwarded("/public/%2e%2E/admin/echo"), "/admin/echo");
  EXPECT_EQ(forwarded("/public/.%2e/admin/echo"), "/admin/echo");
  EXPECT_EQ(forwarded("/public/%2e./admin/echo"), "/admin/echo");
  EXPECT_EQ(forwarded("/a/%2e/b"), "/a/b");
  EXPECT_EQ(forwarded("/a/%2e%2e"), "/");
  EXPECT_EQ(outcomeOf("/public/%2e%2e/admin"), PathOutcome::kResolved);
}

TEST(PathNormalizerTest, ClimbingAboveTheRootIsRefusedAsNginxDoes) {
  for (const char* target : {"/..", "/../x", "/a/../../x", "/%2e%2e/x", "/./../x"}) {
    EXPECT_EQ(outcomeOf(target), PathOutcome::kInvalid) << target;
  }
  EXPECT_EQ(normalizeRequestPath("/../x", {}).error, "the path climbs above the root");
}

TEST(PathNormalizerTest, SlashesAreMergedOnlyWhenAsked) {
  EXPECT_EQ(forwarded("/a//b"), "/a/b");
  EXPECT_EQ(forwarded("//a///b//"), "/a/b/");
  EXPECT_EQ(forwarded("//"), "/");
  EXPECT_EQ(outcomeOf("/a//b"), PathOutcome::kResolved);

  const PathOptions keep{.merge_slashes = false};
  EXPECT_EQ(outcomeOf("/a//b", keep), PathOutcome::kUnchanged);
  EXPECT_EQ(forwarded("/a//b/../c", keep), "/a//c");
  EXPECT_EQ(forwarded("/a//..", keep), "/a/");  // ".." removes the empty segment (§5.2.4)
}

TEST(PathNormalizerTest, EncodedSlashAndBackslashAreRefusedUnlessAllowed) {
  for (const char* target : {"/a%2Fb", "/a%2fb", "/a/..%2f..%2fb", "/a%5Cb", "/a%5cb", "/a\\b"}) {
    EXPECT_EQ(outcomeOf(target), PathOutcome::kInvalid) << target;
  }
  const PathOptions allow{.allow_encoded_slash = true};
  EXPECT_EQ(outcomeOf("/a%2Fb", allow), PathOutcome::kUnchanged);
  EXPECT_EQ(forwarded("/a%2fb", allow), "/a%2Fb");  // kept encoded: not a separator
  // An encoded slash does not start a segment, so "..%2F" is no dot-segment.
  EXPECT_EQ(forwarded("/a/..%2Fb", allow), "/a/..%2Fb");
  EXPECT_EQ(forwarded("/a%5cb", allow), "/a%5Cb");
  EXPECT_EQ(outcomeOf("/a\\b", allow), PathOutcome::kUnchanged);
}

TEST(PathNormalizerTest, EncodedNulIsRefused) {
  EXPECT_EQ(outcomeOf("/a%00b"), PathOutcome::kInvalid);
  EXPECT_EQ(outcomeOf("/a%00b", {.merge_slashes = false, .allow_encoded_slash = true}),
            PathOutcome::kInvalid);
  EXPECT_EQ(normalizeRequestPath("/%00", {}).error, "encoded NUL in the path");
}

TEST(PathNormalizerTest, MalformedPercentEncodingIsRefused) {
  for (const char* target : {"/a%", "/a%4", "/a%zz", "/a%4g", "/a%%41"}) {
    EXPECT_EQ(outcomeOf(target), PathOutcome::kInvalid) << target;
  }
}

TEST(PathNormalizerTest, UnreservedCharactersAreDecodedOthersKeptWithUpperCaseHex) {
  EXPECT_EQ(forwarded("/%41%7a%30%2D%5F%7E"), "/Az0-_~");
  EXPECT_EQ(forwarded("/a%3fb"), "/a%3Fb");  // '?' stays encoded: decoding would start a query
  EXPECT_EQ(forwarded("/a%3Fb"), "/a%3Fb");
  EXPECT_EQ(forwarded("/caf%c3%a9"), "/caf%C3%A9");
  EXPECT_EQ(forwarded("/a%20b%25"), "/a%20b%25");
  EXPECT_EQ(outcomeOf("/%41"), PathOutcome::kCanonicalized);
  EXPECT_EQ(outcomeOf("/a%3fb"), PathOutcome::kCanonicalized);
  EXPECT_EQ(outcomeOf("/a%3Fb"), PathOutcome::kUnchanged);
}

TEST(PathNormalizerTest, QueryIsUntouched) {
  EXPECT_EQ(forwarded("/a/../b?x=/../%2e%2e//%41&y=%2F"), "/b?x=/../%2e%2e//%41&y=%2F");
  EXPECT_EQ(forwarded("/%41?%41"), "/A?%41");
  EXPECT_EQ(forwarded("/a/..#frag/.."), "/#frag/..");
  EXPECT_EQ(outcomeOf("/a?%zz%00"), PathOutcome::kUnchanged);
}

TEST(PathNormalizerTest, EmptyAndNonOriginTargetsAreLeftAlone) {
  EXPECT_EQ(outcomeOf(""), PathOutcome::kUnchanged);
  EXPECT_EQ(outcomeOf("*"), PathOutcome::kUnchanged);
  EXPECT_EQ(outcomeOf("/"), PathOutcome::kUnchanged);
  EXPECT_EQ(forwarded("/?q"), "/?q");
}

}  // namespace
}  // namespace sy::http
