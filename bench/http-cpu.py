#!/usr/bin/env python3
"""Server CPU per HTTP request: starts a built Baton.Server.dll (Production, SQLite in a temp dir, 127.0.0.1, a free port),
sends 3,000 warm-up then N sequential keep-alive GETs of PATH with the admin key, and prints the server process's CPU time
(utime + stime from /proc) divided by N. CPU per request holds better than req/s on a shared machine.

Usage: python3 bench/http-cpu.py src/Baton.Server/bin/Release/net10.0/Baton.Server.dll /healthz 40000
PERF_RECORD=/tmp/x.perf.data also records the measured run with `perf record -g` (the server then runs with
DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0, so its CPU per request is not comparable with a plain run).
EXTRA_ENV="K=V K2=V2" adds environment variables to the server's (to compare settings).
"""
import http.client, os, subprocess, sys, time, tempfile, socket
dll, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()
tmp = tempfile.mkdtemp()
env = dict(os.environ, ASPNETCORE_ENVIRONMENT='Production', ADMIN_KEY='bench-admin-key-0123456789abcdef', BATON_PORT=str(port),
           Baton__Store__Sqlite__Path=os.path.join(tmp, 'b.db'), Baton__Demo__Enabled='false')
for k in ('ASPNETCORE_URLS', 'ASPNETCORE_HTTP_PORTS'): env.pop(k, None)
env.update(kv.split('=', 1) for kv in os.environ.get('EXTRA_ENV', '').split())
perf_out = os.environ.get('PERF_RECORD')
if perf_out: env.update(DOTNET_PerfMapEnabled='1', DOTNET_EnableWriteXorExecute='0')
# The server's output goes to a file, shown when it does not answer: a start that failed (or took longer than the wait on
# a busy machine) used to surface only as a connection error.
log = open(os.path.join(tmp, 'server.log'), 'w')
p = subprocess.Popen(['dotnet', dll], cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
try:
    for _ in range(600):
        try:
            c = http.client.HTTPConnection('127.0.0.1', port, timeout=5); c.request('GET', '/healthz'); c.getresponse().read(); break
        except OSError:
            if p.poll() is not None: break
            time.sleep(0.1)
    else:
        p.poll()
    if p.returncode is not None or not c.sock:
        sys.exit(f'the server did not answer on 127.0.0.1:{port} (exit code {p.returncode}); its output:\n' + open(log.name).read()[-3000:])
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
    h = {'X-ADMIN-KEY': 'bench-admin-key-0123456789abcdef'}
    def run(k):
        for _ in range(k):
            c.request('GET', path, headers=h); r = c.getresponse(); r.read(); assert r.status == 200, r.status
    def cpu():
        f = open(f'/proc/{p.pid}/stat').read().rsplit(')', 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK')
    run(3000)
    rec = subprocess.Popen(['perf', 'record', '-F', '999', '-g', '-p', str(p.pid), '-o', perf_out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) if perf_out else None
    a = cpu(); t = time.time(); run(n); b = cpu(); el = time.time() - t
    if rec: rec.send_signal(2); rec.wait()

    print(f'{path}: {n} requests, server CPU {b-a:.2f} s = {(b-a)/n*1e6:.0f} us/request ({n/el:.0f} req/s wall, busy machine)')
finally:
    p.terminate(); p.wait()
