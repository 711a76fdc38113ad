"""A real MCP client (the `mcp` package) driving `git planx mcp`, for the integration tests.

Usage: python mcp_client.py REPO CALLS_JSON [SERVER_ARGS...]

Starts `git-planx mcp` (found on PATH) in REPO over stdio, initializes, lists the tools, then
makes each call of CALLS_JSON (a list of [tool, arguments]) in order. Prints one JSON line per
step: the server's name and version, the tools' names, then each call's isError, its
structured content and its text.
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def main(repo, calls, server_args):
    params = StdioServerParameters(
        command="git-planx", args=["mcp", *server_args], cwd=repo, env=dict(os.environ)
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            info = init.server_info if hasattr(init, "server_info") else init.serverInfo
            print(json.dumps({"server": info.name, "version": info.version}), flush=True)
            tools = await session.list_tools()
            print(json.dumps({"tools": [t.name for t in tools.tools]}), flush=True)
            for name, arguments in calls:
                result = await session.call_tool(name, arguments)
                data = result.model_dump(by_alias=True)
                print(
                    json.dumps(
                        {
                            "tool": name,
                            "isError": bool(data.get("isError")),
                            "structured": data.get("structuredContent"),
                            "text": [c.get("text") for c in data.get("content", [])],
                        }
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:]))
