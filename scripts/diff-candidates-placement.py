#!/usr/bin/python3
"""Differential test data for Engine.AllocationCandidates: random small
states (providers, trees, inventories with odd unit rules, usage, traits,
sharing providers, aggregates) and random requests (groups, any-of traits,
forbidden traits and aggregates, in_tree, group_policy, same_subtree,
resourceless groups, root_required), answered by a real OpenStack Placement
8.0.0 (Debian python3-placement, microversion 1.39). The Go side replays them:
placementtest/candidates_diff_test.go.

    apt-get install -y python3-placement python3-oslotest
    FIXBUGS=1 /usr/bin/python3 scripts/diff-candidates-placement.py N SEED OUT.json
    PLACEMENT_DIFF_JSON=OUT.json go test -run TestDiffPlacement -v ./placementtest/

FIXBUGS=1 patches two Placement bugs before answering: (A) amounts of a class
requested by several groups are summed into shared objects when group_policy
is not "none"; (B) each group's candidates are de-duplicated across anchors
before being combined. The Engine behaves as the patched Placement.
"""
import json, os, sys, random
sys.path.insert(0, '/usr/lib/python3/dist-packages')
from placement.tests.functional.fixtures import gabbits as gf
from placement.tests.functional.db import test_base as tb
import webob
if os.environ.get('FIXBUGS'):
    from placement.objects import allocation_candidate as ac
    from placement.objects import research_context as rc
    import copy as _copy
    # (A) never mutate shared AllocationRequestResource objects
    rc.RequestWideSearchContext.copy_arr_if_needed = lambda self, arr: _copy.copy(arr)
    # (B) a group's candidates from different anchors are different
    ac.AllocationRequest.__eq__ = lambda self, other: (set(self.resource_requests) == set(other.resource_requests) and self.mappings == other.mappings and self.anchor_root_provider_uuid == other.anchor_root_provider_uuid)
    _h = ac.AllocationRequest.__hash__
    ac.AllocationRequest.__hash__ = lambda self: hash((_h(self), self.anchor_root_provider_uuid))

CLASSES = ['DISK_GB', 'MEMORY_MB', 'VCPU']
TRAITS = ['COMPUTE_VOLUME_MULTI_ATTACH', 'HW_CPU_X86_AVX2', 'HW_CPU_X86_SSE']
AGGS = ['a9000000-0000-4000-8000-000000000001', 'a9000000-0000-4000-8000-000000000002', 'a9000000-0000-4000-8000-000000000003']
RATIOS = [1.0, 1.0, 1.5, 0.5, 2.0]

def pct(r, p): return r.random() * 100 < p

def gen_state(r):
    n = r.randint(1, 6)
    provs = []
    for i in range(n):
        u = 'ac%06x-0000-4000-8000-000000000000' % (r.randint(0, 1 << 20) * 8 + i)
        parent = None
        if i > 0 and pct(r, 50):
            parent = r.choice(provs)['uuid']
        invs = []
        for c in CLASSES:
            if not pct(r, 65):
                continue
            inv = dict(rc=c, total=r.randint(1, 8), reserved=0, min_unit=1, max_unit=2147483647, step_size=1, allocation_ratio=1.0)
            if pct(r, 30):
                inv['reserved'] = r.randint(0, 1)
                inv['min_unit'] = r.randint(1, 2)
                inv['max_unit'] = r.randint(1, 6)
                inv['step_size'] = r.randint(1, 2)
                inv['allocation_ratio'] = r.choice(RATIOS)
            invs.append(inv)
        traits = [t for t in TRAITS if pct(r, 40)]
        if pct(r, 30):
            traits.append('MISC_SHARES_VIA_AGGREGATE')
        aggs = [a for a in AGGS if pct(r, 45)]
        provs.append(dict(uuid=u, name='p%d' % i, parent=parent, invs=invs, traits=traits, aggs=aggs))
    claims = []
    for k in range(r.randint(0, 3)):
        claims.append(dict(rp=r.choice(provs)['uuid'], rc=r.choice(CLASSES), used=r.randint(1, 3)))
    return provs, claims

def gen_group(r, provs, suffix, resourceless):
    g = dict(suffix=suffix, res=[], req=[], forb=[], mof=[], nmof=[], intree=None)
    if not resourceless:
        nc = 1
        if suffix == '' or pct(r, 25):
            nc = r.randint(1, 2)
        cls = list(CLASSES)
        for _ in range(nc):
            c = r.choice(cls); cls.remove(c)
            g['res'].append((c, r.randint(1, 2)))
    if pct(r, 20) or (resourceless and pct(r, 70)):
        s = [r.choice(TRAITS)]
        if pct(r, 30):
            t = r.choice(TRAITS)
            if t != s[0]: s.append(t)
        g['req'].append(s)
    if pct(r, 12):
        f = r.choice(TRAITS + ['MISC_SHARES_VIA_AGGREGATE'])
        if all(any(t != f for t in s) for s in g['req']):
            g['forb'] = [f]
    if pct(r, 20) or (resourceless and not g['req'] and pct(r, 80)):
        s = [r.choice(AGGS)]
        if pct(r, 30):
            a = r.choice(AGGS)
            if a != s[0]: s.append(a)
        g['mof'].append(s)
    if pct(r, 10):
        g['nmof'] = [r.choice(AGGS)]
    if not resourceless and pct(r, 6):
        g['intree'] = r.choice(provs)['uuid']
    return g

def gen_request(r, provs):
    groups = []
    if pct(r, 80):
        groups.append(gen_group(r, provs, '', False))
    nsuf = r.randint(0, 2)
    if not groups and nsuf == 0:
        nsuf = 1
    resourceless = []
    for i in range(nsuf):
        s = ['_A', '_B', '1'][i]
        rl = (groups or i > 0) and pct(r, 20)
        groups.append(gen_group(r, provs, s, rl))
        if rl: resourceless.append(s)
    sufs = [g['suffix'] for g in groups if g['suffix']]
    same = []
    if resourceless or (len(sufs) >= 2 and pct(r, 30)):
        st = list(resourceless)
        for s in sufs:
            if s not in st and (len(st) < 2 or pct(r, 50)):
                st.append(s)
        same = [st]
    policy = 'isolate' if pct(r, 40) else 'none'
    rootreq = [r.choice(TRAITS)] if pct(r, 10) else []
    rootforb = []
    if pct(r, 8):
        t = r.choice(TRAITS)
        if t not in rootreq: rootforb = [t]
    q = []
    for g in groups:
        s = g['suffix']
        if g['res']:
            q.append('resources%s=%s' % (s, ','.join('%s:%d' % x for x in g['res'])))
        for st in g['req']:
            q.append('required%s=%s' % (s, st[0] if len(st) == 1 else 'in:' + ','.join(st)))
        for f in g['forb']:
            q.append('required%s=!%s' % (s, f))
        for st in g['mof']:
            q.append('member_of%s=%s' % (s, st[0] if len(st) == 1 else 'in:' + ','.join(st)))
        for a in g['nmof']:
            q.append('member_of%s=!%s' % (s, a))
        if g['intree']:
            q.append('in_tree%s=%s' % (s, g['intree']))
    if len(sufs) >= 2:
        q.append('group_policy=' + policy)
    elif len(sufs) == 1 and policy == 'isolate':
        q.append('group_policy=isolate')
    for st in same:
        q.append('same_subtree=' + ','.join(st))
    if rootreq or rootforb:
        q.append('root_required=' + ','.join(rootreq + ['!' + t for t in rootforb]))
    return '&'.join(q)

def run(n, seed):
    out = []
    for i in range(n):
        r = random.Random(seed * 100003 + i)
        provs, claims = gen_state(r)
        query = gen_request(r, provs)
        fx = gf.APIFixture(); fx.start_fixture()
        try:
            ctx = fx.context
            objs = {}
            for p in provs:
                kw = dict(uuid=p['uuid'])
                if p['parent']: kw['parent'] = p['parent']
                objs[p['uuid']] = tb.create_provider(ctx, p['name'], *p['aggs'], **kw)
            for p in provs:
                for inv in p['invs']:
                    tb.add_inventory(objs[p['uuid']], inv['rc'], inv['total'], reserved=inv['reserved'], min_unit=inv['min_unit'], max_unit=inv['max_unit'], step_size=inv['step_size'], allocation_ratio=inv['allocation_ratio'])
                if p['traits']:
                    tb.set_traits(objs[p['uuid']], *p['traits'])
            user, proj = tb.create_user_and_project(ctx, prefix='x')
            done = []
            for c in claims:
                cons = tb.ensure_consumer(ctx, user, proj)
                try:
                    tb.set_allocation(ctx, objs[c['rp']], cons, {c['rc']: c['used']})
                    done.append(c)
                except Exception:
                    pass
            app = gf.setup_app()
            req = webob.Request.blank('/allocation_candidates?' + query)
            req.headers['x-auth-token'] = 'admin'; req.headers['OpenStack-API-Version'] = 'placement 1.39'; req.headers['accept'] = 'application/json'
            resp = req.get_response(app)
            res = dict(provs=provs, claims=done, query=query, status=resp.status_int)
            if resp.status_int == 200:
                d = json.loads(resp.body)
                cands = []
                for ar in d['allocation_requests']:
                    items = sorted('%s:%s=%d' % (u, rc, n) for u, v in ar['allocations'].items() for rc, n in v['resources'].items())
                    maps = sorted('%s=%s' % (s, '+'.join(sorted(us))) for s, us in ar['mappings'].items())
                    cands.append(','.join(items) + '|' + ','.join(maps))
                res['candidates'] = sorted(set(cands))
                res['summaries'] = sorted(d['provider_summaries'])
            else:
                res['error'] = resp.body.decode()[:200]
            out.append(res)
        finally:
            fx.stop_fixture()
    return out

if __name__ == '__main__':
    n = int(sys.argv[1]); seed = int(sys.argv[2])
    json.dump(run(n, seed), open(sys.argv[3], 'w'))
