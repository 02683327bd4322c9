"""packed_gemm.h, the float32 products of the kernels and the projection, equals a float64 matmul.

Through `matmul` (matmul.cpp: the threads split the rows). Shapes cover every edge of the tiling:
rows not a multiple of a tile's rows (6 or 8) or of a row block, columns not a multiple of a panel
(16 or 32, zero-padded), depth 1, B given transposed (the input gradient, and the backward pass's
U^T, pack that way), with and without a bias.
"""

import pytest
import torch


@pytest.mark.parametrize("M", [1, 5, 8, 13, 37, 200])
@pytest.mark.parametrize("K", [1, 3, 64, 257])
@pytest.mark.parametrize("N", [1, 15, 16, 31, 32, 33, 100])
@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_packed_matmul_equals_float64_matmul(native, M, K, N, transposed, bias):
    generator = torch.Generator().manual_seed(M * 1000 + K * 10 + N)
    A = torch.randn(M, K, generator=generator)
    B = torch.randn(N, K, generator=generator).t() if transposed else torch.randn(K, N, generator=generator)
    b = torch.randn(N, generator=generator) if bias else None
    got = native.matmul(A, B, b)
    want = A.double() @ B.double() + (b.double() if bias else 0)
    assert got.shape == (M, N) and got.dtype == torch.float32
    # float32 accumulation over K terms: error grows like sqrt(K) ulps of the terms' magnitude
    torch.testing.assert_close(got.double(), want, rtol=0, atol=1e-6 * K ** 0.5 * 8)


# Deeper than a pass (256): 2, 3 and 5 passes, the last shorter; the passes inside each panel (K <= N)
# or around all of them. Panels over 1 MiB in all (K 513 and 700 with N 1000, K 1100 with N 300):
# the tiles also ask for the next panel's part, in both orders.
@pytest.mark.parametrize("K, N", [(0, 100), (0, 1000), (513, 100), (513, 1000), (700, 100), (700, 1000), (1100, 300)])
@pytest.mark.parametrize("transposed", [False, True])
def test_deep_products_in_passes_equal_float64_matmul(native, K, N, transposed):
    generator = torch.Generator().manual_seed(K + N)
    A = torch.randn(77, K, generator=generator)
    B = torch.randn(N, K, generator=generator).t() if transposed else torch.randn(K, N, generator=generator)
    b = torch.randn(N, generator=generator)
    got = native.matmul(A, B, b)
    want = A.double() @ B.double() + b.double()
    torch.testing.assert_close(got.double(), want, rtol=0, atol=1e-6 * (K + 1) ** 0.5 * 8)


def test_packed_matmul_rejects_other_dtypes_and_shapes(native):
    with pytest.raises(RuntimeError, match="float32"):
        native.matmul(torch.ones(2, 3, dtype=torch.float64), torch.ones(3, 2, dtype=torch.float64))
    with pytest.raises(RuntimeError, match="shapes"):
        native.matmul(torch.ones(2, 3), torch.ones(4, 2))
    with pytest.raises(RuntimeError, match="bias"):
        native.matmul(torch.ones(2, 3), torch.ones(3, 2), torch.ones(3))
    with pytest.raises(RuntimeError, match="shapes"):
        native.matmul_tn(torch.ones(2, 3), torch.ones(3, 2))


# 1, 7, 100: one of gemm_tn's blocks of depth, whose tiles write C directly; 300, 1100: several
# blocks, added up beside C
@pytest.mark.parametrize("K", [0, 1, 7, 100, 300, 1100])
@pytest.mark.parametrize("M", [1, 9, 40])
@pytest.mark.parametrize("N", [1, 33, 200])
def test_transposed_product_equals_float64(native, K, M, N):
    """matmul_tn(S, B) = (S^T @ B, B.sum(0)): weight and bias gradients, depth batch x time, in blocks.
    33 and 200 columns end in part of a panel, which must not spill into the next row of C."""
    generator = torch.Generator().manual_seed(K * 100 + M * 10 + N)
    S, B = torch.randn(K, M, generator=generator), torch.randn(K, N, generator=generator)
    got, column_sums = native.matmul_tn(S, B)
    assert got.shape == (M, N) and column_sums.shape == (N,)
    tolerance = dict(rtol=0, atol=1e-6 * (K + 1) ** 0.5 * 8)
    torch.testing.assert_close(got.double(), S.double().t() @ B.double(), **tolerance)
    torch.testing.assert_close(column_sums.double(), B.double().sum(0), **tolerance)


# gemm_tn's tiles go strip by strip where a full block's panels and strips fit in half of a core's L2
# (the products above, all of them where a core has 544 KB of L2 or more), else panel by panel: the
# panels of 8192 columns take 3.3 MB for a block of 100 rows, more than half of any core's L2.
@pytest.mark.parametrize("K", [100, 700])
def test_a_transposed_product_too_wide_for_l2_equals_float64(native, K):
    generator = torch.Generator().manual_seed(K)
    S, B = torch.randn(K, 11, generator=generator), torch.randn(K, 8192 + 5, generator=generator)
    got, column_sums = native.matmul_tn(S, B)
    tolerance = dict(rtol=0, atol=1e-6 * (K + 1) ** 0.5 * 8)
    torch.testing.assert_close(got.double(), S.double().t() @ B.double(), **tolerance)
    torch.testing.assert_close(column_sums.double(), B.double().sum(0), **tolerance)


# gemm_tn cuts a depth of two blocks or more in two parts (KC rows a block: 272 with AVX2, 144 with
# AVX-512), summed apart and added. 545: each part a block and one row over (AVX2: the second part's
# second block is empty); 1100 and 3001: parts of several blocks, the second a row shorter at 3001.
@pytest.mark.parametrize("K", [545, 1100, 3001])
def test_a_deep_transposed_product_gives_the_same_bits_on_any_number_of_threads(native, K):
    """Each part's blocks add up in order, and the parts in order, however many threads share them."""
    generator = torch.Generator().manual_seed(K)
    S, B = torch.randn(K, 45, generator=generator), torch.randn(K, 70, generator=generator)
    previous = torch.get_num_threads()
    try:
        results = []
        for threads in (1, 2, 3, 4):
            torch.set_num_threads(threads)
            results.append(native.matmul_tn(S, B))
    finally:
        torch.set_num_threads(previous)
    tolerance = dict(rtol=0, atol=1e-6 * (K + 1) ** 0.5 * 8)
    torch.testing.assert_close(results[0][0].double(), S.double().t() @ B.double(), **tolerance)
    torch.testing.assert_close(results[0][1].double(), B.double().sum(0), **tolerance)
    for got, sums in results[1:]:
        assert torch.equal(got, results[0][0]) and torch.equal(sums, results[0][1])


# A tile of 1-3 rows spans 4 or 2 panels (few_rows_tile); the columns past the last group, and a
# last panel in part, go one panel at a time. A block that ends in one tile and 1 to 3 rows more (7-9
# rows with AVX2's 6-row tiles, 9-11 with AVX-512's 8; 13 and 17 after full tiles) ends in two tiles of
# about half each (tile_rows). Depth 300 takes two passes; 700 x 1000 is over 1 MiB of panels (the tiles
# of more rows then ask for what comes next).
@pytest.mark.parametrize("K, N", [(1, 64), (64, 100), (64, 256), (300, 200), (700, 1000), (1100, 300)])
@pytest.mark.parametrize("rows", [1, 2, 3, 7, 8, 9, 10, 11, 13, 17, 23])
@pytest.mark.parametrize("bias", [False, True])
def test_a_row_has_the_same_bits_in_any_tile(native, K, N, rows, bias):
    """Whatever tile a row falls in (a batch's size, a thread's share), its sums run in one order."""
    generator = torch.Generator().manual_seed(K + N + rows)
    A, B = torch.randn(24, K, generator=generator), torch.randn(K, N, generator=generator)  # 24: full tiles only
    b = torch.randn(N, generator=generator) if bias else None
    full = native.matmul(A, B, b)
    assert torch.equal(native.matmul(A[:rows], B, b), full[:rows])
    assert torch.equal(native.matmul(A[:rows], B.t().contiguous().t(), b), full[:rows])  # B packed from its transpose
    torch.testing.assert_close(full.double(), A.double() @ B.double() + (b.double() if bias else 0), rtol=0,
                               atol=1e-6 * (K + 1) ** 0.5 * 8)
