"""Identifier splitting for the lexical index and queries."""

from indexer.identifiers import (
    code_terms, named_terms, parameter_terms, query_terms, quoted_terms, split_identifier,
)


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


def test_named_terms_are_the_code_names_a_query_points_at() -> None:
    assert named_terms("run_all: the ranking module is indexer.retrieve now") == ["runall", "indexer", "retrieve"]
    assert named_terms("fix(parser): handle parseArgs()") == ["parser", "parseargs"]
    assert named_terms("Chunker: keep inner headers") == ["chunker"]
    assert named_terms("see src/Widget.tsx and setup.py") == ["src", "widget", "setup"]  # extensions dropped


def test_prose_names_no_code() -> None:
    assert named_terms("Creates an array of unique values, e.g. in order") == []
    assert named_terms("No-op index runs no longer open Chroma") == []
    assert named_terms("Why is the cache cleared: it should not be") == []  # a colon late in prose is no scope
    assert named_terms("Capture what print() writes") == []  # a call names a function, not a file


def test_parameter_terms_are_the_names_a_signature_takes() -> None:
    assert parameter_terms("fetch", "def fetch(url, timeout=5, *, retries: int = 3):\n    pass") == \
        ["url", "timeout", "retries"]
    method = "class Pool:\n    def close(self, force: bool = False) -> None:\n        self.force = force"
    assert parameter_terms("Pool.close", method) == ["force"]
    js = "function chunk(array, size, guard) {\n  return [];\n}"
    assert parameter_terms("chunk", js) == ["array", "size", "guard"]
    assert parameter_terms("fetchAll", "async function fetchAll(urlList) {}") == ["urllist", "url", "list"]
    assert parameter_terms("Command.Execute", "func (c *Command) Execute(args []string) error {") == ["args", "string"]
    assert parameter_terms("map", "fn map<T, U>(items: Vec<T>) -> Vec<U> {") == ["items"]


def test_parameter_terms_are_empty_without_a_symbol_or_a_signature() -> None:
    assert parameter_terms(None, "def fetch(url):") == []
    assert parameter_terms("Pool", "class Pool:\n    size = 3") == []
    assert parameter_terms("fetch", "def fetch():\n    pass") == []


def test_quoted_terms_are_what_a_query_writes_in_backticks() -> None:
    assert quoted_terms("Creates an array of elements split into groups the length of `size`") == ["size"]
    # "this" is a stop word
    assert quoted_terms("Invokes ``func`` with `thisArg` and the `args` of") == ["func", "thisarg", "arg", "args"]
    assert quoted_terms("Creates an array of elements split into groups") == []
