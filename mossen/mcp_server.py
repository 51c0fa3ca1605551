"""`mossen mcp`: the Model Context Protocol server (stdio) over one repository's index.

The SDK's `MCPServer` carries the protocol; `RepoTools` does the work. Every
call runs on one worker thread that owns the open index (SQLite connections
belong to the thread that opened them), one call at a time. stdout carries
only the protocol (the SDK's stdio transport diverts stray writes to stderr);
logs go to stderr. A refusal or failure becomes a tool error with its reason,
never a crash of the server.
"""

# No `from __future__ import annotations`: the SDK reads the tool functions' annotations (Annotated
# with pydantic Fields) at registration to build their input schemas.
import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, Callable

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from indexer.errors import IndexerError
from mossen import __version__
from mossen.errors import MossenError
from mossen.mcp_tools import MAX_TOP_K, RepoTools

log = logging.getLogger("mossen.mcp")

INSTRUCTIONS = (
    "mossen searches this repository with a local hybrid index (embeddings computed on this machine, "
    "plus identifier-aware lexical search). Start with search_code; follow a hit with read_chunk(path, "
    "start_line, end_line); use get_context for a token-budgeted bundle of the code that answers a "
    "question; index_status says how complete the index is. All tools are read-only."
)
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)


class Worker:
    """Runs the tools on one thread, turning their errors into tool errors."""

    def __init__(self, tools: RepoTools) -> None:
        self.tools = tools
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mossen-mcp")

    async def call(self, name: str, work: Callable[[], Any]) -> CallToolResult:
        """The tool's value as JSON text (what the CLI prints) and as structured content."""
        try:
            value = await asyncio.wrap_future(self._pool.submit(work))
        except (MossenError, IndexerError) as exc:
            raise ToolError(str(exc)) from None
        except Exception as exc:  # a bug: the client gets its name and message, the log its traceback
            log.exception("%s failed", name)
            raise ToolError(f"internal error: {type(exc).__name__}: {exc}") from None
        structured = value if isinstance(value, dict) else {"results": value}
        return CallToolResult(content=[TextContent(type="text", text=json.dumps(value))],
                              structured_content=structured)

    def close(self) -> None:
        """Close the index on the thread that opened it, then stop the thread."""
        self._pool.submit(self.tools.close).result()
        self._pool.shutdown()


def build_server(worker: Worker) -> MCPServer:
    """The MCP server with mossen's four read-only tools."""
    server: MCPServer = MCPServer("mossen", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING")
    tools = worker.tools

    @server.tool(annotations=READ_ONLY)
    async def search_code(
        query: Annotated[str, Field(description="What you are looking for, in words or identifiers.")],
        top_k: Annotated[int | None, Field(ge=1, le=MAX_TOP_K, description="How many results (default: config search.top_k).")] = None,
        language: Annotated[str | None, Field(description="Only this language, e.g. python, go, tsx.")] = None,
        path_glob: Annotated[str | None, Field(description="Only paths matching this gitignore-style pattern, e.g. 'src/**/*.py'.")] = None,
    ) -> CallToolResult:
        """Hybrid code search (dense embeddings + BM25 over chunks, files, symbol and parameter names and the paths the query names, fused by rank), best first.

        Returns the `mossen search --json` array: path (repo-relative), start_line, end_line, symbol,
        language, score, kind, scores. Follow a hit with read_chunk(path, start_line, end_line).
        """
        return await worker.call("search_code", lambda: tools.search_code(query, top_k, language, path_glob))

    @server.tool(annotations=READ_ONLY)
    async def get_context(
        question: Annotated[str, Field(description="A question about the code.")],
        budget: Annotated[int | None, Field(ge=0, description="Most tokens of code (default: config ask.budget).")] = None,
    ) -> CallToolResult:
        """The code that best answers a question, fitted into a token budget (as `mossen ask --show-context`).

        `context` holds the code, each piece labelled path:start-end; `chunks` lists the pieces with their
        token costs and scores. Secrets are redacted.
        """
        return await worker.call("get_context", lambda: tools.get_context(question, budget))

    @server.tool(annotations=READ_ONLY)
    async def read_chunk(
        path: Annotated[str, Field(description="Repo-relative path, as search_code returns it.")],
        start_line: Annotated[int, Field(ge=1, description="First line, 1-based.")] = 1,
        end_line: Annotated[int | None, Field(ge=1, description="Last line, inclusive (default: end of file).")] = None,
    ) -> CallToolResult:
        """Lines of one repository file (at most 600 per call), secrets redacted.

        Only files mossen indexes are readable: paths outside the repository, ignored files and
        credential files are refused.
        """
        return await worker.call("read_chunk", lambda: tools.read_chunk(path, start_line, end_line))

    @server.tool(annotations=READ_ONLY)
    async def index_status() -> CallToolResult:
        """The index of this repository: files, chunks, languages, embedding model, pending embeddings, staleness.

        As `mossen status --json`, plus dense_complete (every chunk has its embedding).
        """
        return await worker.call("index_status", tools.index_status)

    return server


def serve_stdio(tools: RepoTools) -> None:
    """Serve MCP over stdin/stdout until the client closes the connection."""
    worker = Worker(tools)
    try:
        build_server(worker).run("stdio")
    finally:
        worker.close()
