test('t', () => {
  console.log(process.execArgv, process.env.NODE_OPTIONS, process.version);
  const v8 = require('v8');
  let t0 = performance.now(); let s = 0;
  for (let i = 0; i < 1e6; i++) s += Math.log(1 + i);
  console.log('log', performance.now() - t0, s);
  const f = new Function('n', 'let s=0; for (let i = 0; i < n; i++) s += Math.log(1 + i); return s;');
  t0 = performance.now(); f(1e6);
  console.log('fn', performance.now() - t0);
});
