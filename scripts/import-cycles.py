#!/usr/bin/env python3
# Prints the import cycles (strongly connected components) of the crate under src/, and with -v
# the edges between its top-level parts. tests/api/architecture.rs enforces the rule; this
# shows the picture. Usage: python3 scripts/import-cycles.py [src] [-v]
"""Module import graph of a Rust crate: cycles (SCCs) and folder-level edges."""
import os,re,sys,collections
root=next((a for a in sys.argv[1:] if not a.startswith('-')), 'src')
files={}
for d,_,fs in os.walk(root):
    for f in fs:
        if f.endswith('.rs'):
            p=os.path.join(d,f)
            parts=os.path.relpath(p,root)[:-3].split('/')
            if parts[-1]=='mod': parts=parts[:-1]
            if parts==['lib'] or parts==['main']: parts=['crate_root_'+parts[0]]
            files['::'.join(parts)]=open(p).read()
mods=set(files)
def resolve(path):
    parts=[x for x in path.split('::') if x]
    for i in range(len(parts),0,-1):
        m='::'.join(parts[:i])
        if m in mods: return m
    return None
def split_items(inner):
    depth=0;cur='';items=[]
    for ch in inner:
        if ch=='{':depth+=1
        if ch=='}':depth-=1
        if ch==',' and depth==0: items.append(cur.strip());cur=''
        else: cur+=ch
    if cur.strip(): items.append(cur.strip())
    return items
def expand(prefix,s):
    s=re.sub(r'\s+','',s)
    if not s: return []
    b=s.find('{')
    if b<0: return [prefix+s.split('as')[0] if ' as ' not in s else prefix+s]
    pre=prefix+s[:b]
    inner=s[b+1:s.rfind('}')]
    out=[]
    for it in split_items(inner): out+=expand(pre,it)
    return out
edges=collections.defaultdict(set)
for m,src in files.items():
    src=re.sub(r'#\[cfg\(test\)\]\s*mod tests\s*\{.*','',src,flags=re.S)
    src=re.sub(r'//[^\n]*','',src)
    for u in re.findall(r'\buse\s+crate::([^;]*);',src,flags=re.S):
        for full in expand('',u):
            r=resolve(full.split('as')[0] if False else full)
            if r and r!=m: edges[m].add(r)
    for full in re.findall(r'(?<!use )\bcrate::((?:\w+::)*\w+)',src):
        r=resolve(full)
        if r and r!=m: edges[m].add(r)
index={};low={};st=[];on=set();sccs=[];i=[0]
sys.setrecursionlimit(10000)
def sc(v):
    index[v]=low[v]=i[0];i[0]+=1;st.append(v);on.add(v)
    for w in sorted(edges[v]):
        if w not in index: sc(w);low[v]=min(low[v],low[w])
        elif w in on: low[v]=min(low[v],index[w])
    if low[v]==index[v]:
        c=[]
        while True:
            w=st.pop();on.discard(w);c.append(w)
            if w==v:break
        sccs.append(c)
for v in sorted(mods):
    if v not in index: sc(v)
for c in sorted([c for c in sccs if len(c)>1],key=len,reverse=True): print('cycle',len(c),sorted(c))
top=lambda m:m.split('::')[0]
tedges=collections.defaultdict(set)
for a,bs in edges.items():
    for b in bs:
        if top(a)!=top(b): tedges[top(a)].add(top(b))
if '-v' in sys.argv:
    for a in sorted(tedges): print(a,'->',' '.join(sorted(tedges[a])))
