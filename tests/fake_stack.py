"""A stack with routes missing, for scripts/test's smoke stage: GET /plans answers a plan, and
every other request gets API Gateway's answer for a route it does not have (404
{"message":"Not Found"}). Listens on a free loopback port and writes it to the file named by
its argument."""

import http.server
import sys


class Stack(http.server.BaseHTTPRequestHandler):
    def answer(self):
        found = self.command == "GET" and self.path == "/plans"
        body = b'[{"planId":"basic-60"}]' if found else b'{"message":"Not Found"}'
        self.send_response(200 if found else 404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = answer

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Stack)
with open(sys.argv[1], "w") as port:
    port.write(str(server.server_port))
server.serve_forever()
