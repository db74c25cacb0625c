import { easeNeighbours, invertInPlace } from './ease';
import { InteractionsBuilder, transpose, type Interactions } from './matrix';
import { cosineNeighbours, rp3betaNeighbours, TopK, type Neighbours } from './neighbours';
import { leaveLastOut, popularityRanker, Scorer } from './score';

/** A matrix from rows of [product, weight] pairs. */
function matrix(rows: [number, number][][], columns: number): Interactions {
  const b = new InteractionsBuilder();
  for (const row of rows) {
    b.row();
    for (const [item, weight] of row) b.add(item, weight);
  }
  return b.build(columns);
}

/** Product i's neighbours as { j: weight }. */
function row(n: Neighbours, i: number): Record<number, number> {
  const out: Record<number, number> = {};
  for (let k = n.start[i]; k < n.start[i + 1]; k++) out[n.items[k]] = n.weights[k];
  return out;
}

/*
 * Three customers, three products (binary):
 *   c0: A, B        c1: A, B, C        c2: B, C
 * ‖A‖ = √2, ‖B‖ = √3, ‖C‖ = √2; co(A,B) = 2, co(A,C) = 1, co(B,C) = 2.
 */
const A = 0;
const B = 1;
const C = 2;
const SMALL = matrix(
  [
    [
      [A, 1],
      [B, 1],
    ],
    [
      [A, 1],
      [B, 1],
      [C, 1],
    ],
    [
      [B, 1],
      [C, 1],
    ],
  ],
  3,
);

describe('item-item similarity on a hand-checked case', () => {
  test('cosine: co-occurrence over the product of norms', () => {
    const n = cosineNeighbours(SMALL, { neighbours: 5, shrink: 0 });
    expect(row(n, A)[B]).toBeCloseTo(2 / Math.sqrt(6), 6);
    expect(row(n, A)[C]).toBeCloseTo(1 / 2, 6);
    expect(row(n, B)[C]).toBeCloseTo(2 / Math.sqrt(6), 6);
    // Symmetric, no self-similarity, best first.
    expect(row(n, B)[A]).toBeCloseTo(row(n, A)[B], 6);
    expect(row(n, A)[A]).toBeUndefined();
    expect([...n.items.slice(n.start[A], n.start[A + 1])]).toEqual([B, C]);
  });

  test('shrinkage pulls pairs seen by few customers towards 0; K keeps the best', () => {
    const n = cosineNeighbours(SMALL, { neighbours: 1, shrink: 2 });
    expect(row(n, A)).toEqual({ [B]: expect.closeTo(2 / (Math.sqrt(6) + 2), 6) });
    expect(row(n, C)).toEqual({ [B]: expect.closeTo(2 / (Math.sqrt(6) + 2), 6) });
  });

  test('weights count unless binary: a heavy pair is more similar', () => {
    const weighted = matrix(
      [
        [
          [A, 3],
          [B, 3],
        ],
        [
          [A, 1],
          [C, 1],
        ],
      ],
      3,
    );
    const w = cosineNeighbours(weighted, { neighbours: 5, shrink: 0 });
    expect(row(w, A)[B]).toBeCloseTo(9 / (Math.sqrt(10) * 3), 6);
    expect(row(w, A)[C]).toBeCloseTo(1 / Math.sqrt(10), 6);
    const binary = cosineNeighbours(weighted, { neighbours: 5, shrink: 0, binary: true });
    expect(row(binary, A)[B]).toBeCloseTo(row(binary, A)[C], 6);
  });

  test('RP3beta: a three-step walk product → customer → product, penalised by popularity^beta', () => {
    // W[A][B] = Σ_c (x_cA / pop A) (x_cB / activity c) = (1/2)(1/2) + (1/2)(1/3) = 5/12; pop B = 3.
    const plain = rp3betaNeighbours(SMALL, { neighbours: 5, beta: 0 });
    expect(row(plain, A)[B]).toBeCloseTo(5 / 12, 6);
    expect(row(plain, A)[C]).toBeCloseTo(1 / 6, 6);
    // Not symmetric: W[B][A] = (1/3)(1/2) + (1/3)(1/3) = 5/18.
    expect(row(plain, B)[A]).toBeCloseTo(5 / 18, 6);
    const penalised = rp3betaNeighbours(SMALL, { neighbours: 5, beta: 0.5 });
    expect(row(penalised, A)[B]).toBeCloseTo(5 / 12 / Math.sqrt(3), 6);
    expect(row(penalised, A)[C]).toBeCloseTo(1 / 6 / Math.sqrt(2), 6);
  });

  test('EASE: B = I − P diag(1/diag P) with P = (XᵀX + λI)⁻¹, hand-inverted for two products', () => {
    // Two products always together for 2 customers, one alone for 1: G = [[3, 2], [2, 2]], λ = 1 → [[4, 2], [2, 3]].
    const x = matrix(
      [
        [
          [A, 1],
          [B, 1],
        ],
        [
          [A, 1],
          [B, 1],
        ],
        [[A, 1]],
      ],
      2,
    );
    // P = 1/8 [[3, −2], [−2, 4]]; B[A][B] = −P[A][B] / P[B][B] = 2/4; B[B][A] = −P[B][A] / P[A][A] = 2/3.
    const n = easeNeighbours(x, { neighbours: 5, lambda: 1, maxProducts: 10 });
    expect(row(n, A)[B]).toBeCloseTo(1 / 2, 6);
    expect(row(n, B)[A]).toBeCloseTo(2 / 3, 6);
  });

  test('the Gauss–Jordan inverse of a symmetric positive definite matrix', () => {
    const a = Float64Array.from([4, 2, 0, 2, 3, 1, 0, 1, 2]);
    const original = a.slice();
    invertInPlace(a, 3);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let sum = 0;
        for (let k = 0; k < 3; k++) sum += original[i * 3 + k] * a[k * 3 + j];
        expect(sum).toBeCloseTo(i === j ? 1 : 0, 10);
      }
    }
  });

  test('transpose swaps rows and columns with their weights', () => {
    const t = transpose(SMALL);
    expect(t.rows).toBe(3);
    expect([...t.items.slice(t.start[B], t.start[B + 1])]).toEqual([0, 1, 2]);
    expect([...t.items.slice(t.start[C], t.start[C + 1])]).toEqual([1, 2]);
  });
});

describe('scoring', () => {
  test('score(c, j) = Σ_i x_ci W[i][j]; owned products are left out unless excludeOwned is off', () => {
    const n = cosineNeighbours(SMALL, { neighbours: 5, shrink: 0 });
    const top = new TopK(3);
    // Customer c0 has A and B: C scores sim(A,C) + sim(B,C).
    new Scorer(n, true).score(SMALL, 0, top);
    expect(top.size).toBe(1);
    expect(top.index[0]).toBe(C);
    expect(top.weight[0]).toBeCloseTo(1 / 2 + 2 / Math.sqrt(6), 6);
    new Scorer(n, false).score(SMALL, 0, top);
    expect([...top.index.slice(0, top.size)].sort()).toEqual([A, B, C]);
    // A (sim(B,A), from B) and B (sim(A,B), from A) tie: ties go to the smaller index.
    expect([...top.index.slice(0, top.size)]).toEqual([C, A, B]);
  });

  test('TopK keeps the k best, ties to the smaller index', () => {
    const top = new TopK(2);
    for (const [i, w] of [
      [5, 1],
      [3, 2],
      [4, 2],
      [1, 0.5],
    ])
      top.offer(i, w);
    expect([...top.index.slice(0, top.size)]).toEqual([3, 4]);
  });

  test('leave-last-out: hit rate and NDCG at 10 of a ranker that puts the held-out product at rank 1 or 2', () => {
    const x = matrix([[[A, 1]], [[A, 1]], [[B, 1]]], 3);
    const heldOut = Int32Array.from([B, C, -1]);
    const quality = leaveLastOut(3, heldOut, 10, (r, top) => {
      top.reset();
      top.offer(B, 2);
      top.offer(C, 1);
      void r;
    });
    expect(quality.customers).toBe(2);
    expect(quality.hitRate).toBe(1);
    expect(quality.ndcg).toBeCloseTo((1 + 1 / Math.log2(3)) / 2, 10);
    // Popularity leaves out what the customer has.
    const top = new TopK(10);
    popularityRanker(x, Int32Array.from([A, B]))(0, top);
    expect([...top.index.slice(0, top.size)]).toEqual([B]);
  });
});
