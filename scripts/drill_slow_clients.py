"""Slow-client drill against a running service: 2,000 connections that send half a request
head and stop, from 127.0.0.1, while /health is asked 200 times from 127.0.0.2.
Prints /health latency (median, p99) during the attack, the service's open descriptors
before, during and after, and whether the sessions survived.
    python3 scripts/drill_slow_clients.py <api port> <service pid>"""
import http.client, json, os, resource, socket, sys, time

port, pid = int(sys.argv[1]), int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

def fds():
    return len(os.listdir(f"/proc/{pid}/fd"))

def get(path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=("127.0.0.2", 0))
    t0 = time.perf_counter()
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, (time.perf_counter() - t0) * 1000, body

sessions_before = json.loads(get("/sessions")[2])["active_sessions"]
before = fds()
attack = []
for _ in range(2000):
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    attack.append(s)
time.sleep(0.5)
for s in attack:
    try:
        s.send(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    except OSError:
        pass
during = fds()
lat, bad = [], 0
for _ in range(200):
    status, ms, _ = get("/health")
    lat.append(ms)
    bad += status != 200
lat.sort()
sessions_during = json.loads(get("/sessions")[2])["active_sessions"]
for s in attack:
    s.close()
deadline = time.time() + 20
while fds() > before + 2 and time.time() < deadline:
    time.sleep(0.2)
print(f"/health during the attack: median {lat[100]:.1f} ms, p99 {lat[197]:.1f} ms, "
      f"non-200 {bad}/200")
print(f"service descriptors: before {before}, during {during}, after {fds()}")
print(f"sessions: before {sessions_before}, during {sessions_during}")
