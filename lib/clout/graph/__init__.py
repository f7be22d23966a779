"""The engagement graph and its authority (PageRank) computed with GraphFrames."""
