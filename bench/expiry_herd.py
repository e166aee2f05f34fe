#!/usr/bin/env python3
"""Publish latency while thousands of event streams end together at their token's exp.

  bench/expiry_herd.py [N=7000] [path/to/mercure-hub ...]

For each hub binary (default build/release/mercure-hub): a hub (local transport, 1 worker, on
loopback, in a temporary directory) gets N event streams sharing one subscriber token that
expires 20 s later; three keep-alive publishers then publish to a topic nobody follows, every
3 ms, until 3 s after the exp. Prints the publish latency before the exp and the worst one
around it, and how many streams the hub ended. Everything it starts is stopped on exit.
"""
import os, re, resource, signal, socket, subprocess, sys, tempfile, time

KEY = '!ChangeThisMercureHubJWTSecretKey!'
N = int(sys.argv[1]) if len(sys.argv) > 1 else 7000
HUBS = sys.argv[2:] or [os.path.join(os.path.dirname(__file__), '..', 'build', 'release', 'mercure-hub')]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def token(hub, *args):
    return subprocess.check_output([hub, 'token', '--key', KEY, *args]).decode().strip()


def start(hub, tmp):
    env = dict(os.environ, ADDR='127.0.0.1:0', CADDY_ADMIN='off', GRACE_PERIOD='0', JWT_KEY=KEY,
               TRANSPORT_URL='local://')
    log = open(os.path.join(tmp, 'hub.log'), 'w+')
    p = subprocess.Popen([hub, '--workers', '1'], env=env, stdout=subprocess.DEVNULL, stderr=log, cwd=tmp)
    deadline = time.time() + 15
    while time.time() < deadline:
        log.seek(0)
        m = re.search(r'listening on http://127.0.0.1:(\d+)', log.read())
        if m:
            return p, int(m.group(1))
        time.sleep(0.05)
    p.kill()
    raise RuntimeError('the hub did not start')


def subscribe(port, n, tok):
    socks = []
    for i in range(0, n, 500):
        batch = []
        for k in range(i, min(n, i + 500)):
            s = socket.create_connection(('127.0.0.1', port))
            s.sendall(f'GET /.well-known/mercure?topic=/t/{k} HTTP/1.1\r\nHost: localhost\r\n'
                      f'Authorization: Bearer {tok}\r\nAccept: text/event-stream\r\n\r\n'.encode())
            batch.append(s)
        for s in batch:
            s.settimeout(30)
            head = b''
            while b'\r\n\r\n' not in head:
                d = s.recv(65536)
                if not d:
                    raise RuntimeError('stream refused: ' + head[:200].decode(errors='replace'))
                head += d
            if not head.startswith(b'HTTP/1.1 200'):
                raise RuntimeError(head[:200].decode(errors='replace'))
            s.setblocking(False)
        socks.extend(batch)
    return socks


def post(s, buf, tok):
    body = b'topic=/nobody&data=x'
    s.sendall(f'POST /.well-known/mercure HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {tok}\r\n'
              f'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n'.encode() + body)
    while True:
        end = buf.find(b'\r\n\r\n')
        if end >= 0:
            n = int(re.search(rb'(?i)content-length: *(\d+)', buf[:end]).group(1))
            if len(buf) >= end + 4 + n:
                return buf[end + 4 + n:]
        buf += s.recv(65536)


def run(hub):
    tmp = tempfile.mkdtemp(prefix='mercure-expiry.')
    p, port = start(hub, tmp)
    try:
        pub = token(hub, '--publish', '*')
        sub = token(hub, '--subscribe', '*', '--exp', '20s')
        exp = time.time() + 20
        socks = subscribe(port, N, sub)
        pubs = [socket.create_connection(('127.0.0.1', port)) for _ in range(3)]
        for s in pubs:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        bufs = [b''] * 3
        samples = []
        while time.time() < exp + 3:
            for i, s in enumerate(pubs):
                t = time.perf_counter()
                bufs[i] = post(s, bufs[i], pub)
                samples.append((time.time() - exp, time.perf_counter() - t))
            time.sleep(0.003)
        before = sorted(d for t, d in samples if t < -2)
        around = max((d, t) for t, d in samples if t >= -2)
        ended = 0
        for s in socks:
            try:
                while s.recv(65536):
                    pass
            except BlockingIOError:
                continue
            except ConnectionError:
                pass
            ended += 1
        print(f'{hub}: {N} streams; publish latency before the exp p50 {before[len(before) // 2] * 1e3:.2f} ms, '
              f'max {before[-1] * 1e3:.1f} ms; around the exp max {around[0] * 1e3:.1f} ms (at {around[1]:+.2f} s); '
              f'streams ended by the hub: {ended}', flush=True)
        for s in socks + pubs:
            s.close()
        return ended == N
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
        subprocess.run(['rm', '-rf', tmp])


ok = all([run(os.path.realpath(h)) for h in HUBS])
sys.exit(0 if ok else 1)
