// Placeholder: written in a later commit.
