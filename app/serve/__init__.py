"""Ippon as a local service: an OpenAI-compatible HTTP API and an MCP server over one IpponService.

`runtime.ServeRuntime` puts each loaded model behind a worker of its own and is what both
the HTTP routes (`api`) and the MCP tools (`mcp`) call; `server` binds, serves and stops.
"""
