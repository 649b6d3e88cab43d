"""Training the reranker, here, from text no evaluation set draws its questions from.

Imports indexer and qa (never service); torch and LightGBM are used here only for training.
"""
