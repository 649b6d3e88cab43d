"""The question-answering domain: query analysis, retrieval and fusion, answers, chat context, the
upstream language model, and the lifecycle of the loaded index. Imports `indexer`, never `service`
or FastAPI.
"""
