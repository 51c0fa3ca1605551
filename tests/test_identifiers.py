"""Identifier splitting for the lexical index and queries."""

from indexer.identifiers import code_terms, query_terms, split_identifier


def test_split_camel_snake_acronyms_digits() -> None:
    assert split_identifier("getUserName") == ["get", "user", "name"]
    assert split_identifier("HTTPServer_v2") == ["http", "server", "v", "2"]
    assert split_identifier("parse_utf8_header") == ["parse", "utf", "8", "header"]
    assert split_identifier("XMLHttpRequest") == ["xml", "http", "request"]


def test_code_terms_keep_whole_identifier_and_parts() -> None:
    terms = code_terms("self.max_retries = getRetryCount()")
    assert "maxretries" in terms and "max" in terms and "retries" in terms
    assert "getretrycount" in terms and "retry" in terms and "count" in terms
    assert code_terms("self") == ["self"]  # a plain word is not repeated


def test_query_terms_drop_stopwords_and_duplicates() -> None:
    assert query_terms("Where are the retries configured for the HTTPAdapter?") == [
        "retries", "configured", "httpadapter", "http", "adapter",
    ]
    assert query_terms("how is it") == []
