"""How many tokens the dense phase ran through the model: the texts it embedded, tokenised as it sees them."""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer

from indexer.embed.base import bundled_model_path
from indexer.settings import IndexSettings
from indexer.store.catalog import Catalog
from indexer.store.layout import IndexLayout

BATCH = 4096


def embedded_token_lengths(repo: Path, settings: IndexSettings) -> list[int]:
    """Tokens per distinct embedded text of `repo`'s index, special tokens in, truncated at the model's window.

    One text per embedding-cache key (the first chunk in path order), as the
    dense phase computes each key once; the model's own tokenizer, truncated
    at `settings.chunk_max_tokens` (256), the way the embedder feeds it.
    """
    layout = IndexLayout.for_repo(repo.resolve(), settings)
    seen: set[str] = set()
    texts: list[str] = []
    with Catalog(layout.catalog) as catalog:
        for row in catalog.iter_chunk_rows():
            if row.text_hash not in seen:
                seen.add(row.text_hash)
                texts.append(row.chunk.embedding_text)
    tokenizer = Tokenizer.from_file(str(bundled_model_path() / "tokenizer.json"))
    tokenizer.enable_truncation(settings.chunk_max_tokens)
    tokenizer.no_padding()
    return [len(e.ids) for start in range(0, len(texts), BATCH)
            for e in tokenizer.encode_batch(texts[start:start + BATCH])]
