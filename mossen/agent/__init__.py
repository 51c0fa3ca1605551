"""The agent: a small loop over the provider protocol and the tool protocol, with permissions.

    records      Action, ToolResult, ToolOutcome, the tool failures
    workspace    every file path confined to the repository, resolved at the moment of use
    permissions  modes and allow/ask/deny rules -> allow | ask | refuse
    tools/       search_code, grep, read_file, list_files, glob, edit_file, write_file, run_command
    loop         user turn -> retrieval -> model -> tool calls -> results -> ... -> answer
"""
