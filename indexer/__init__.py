"""Reads report files, normalises and chunks them, and builds a hybrid (FAISS + BM25) index."""
