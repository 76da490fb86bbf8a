;; A gather-GEMM for tfjs-backend-wasm's heap: the one kernel behind our convolution passes on
;; WebAssembly (issue 5). Compiled by scripts/build-wasm.mjs into ./binaries.ts, twice: importing a
;; shared memory (tfjs's threaded module) and an unshared one (its single-threaded module): the
;; script puts the import in place of the line MEMORY.
;;
;;   out[m, co] = sum_{k in [0, kCount)} a[table[k] + mOff[m]] * b[k, co]
;;
;; b's rows (CO floats each) are read in order, where tfjs keeps them; a is gathered: table[k] +
;; mOff[m] is the byte address of A[m, k]. All addresses and offsets are in bytes. With a
;; convolution's zero-padded input as a, the receptive field's corner of an output pixel and the
;; offset of a filter row (kh, kw, ci) from it:
;;  - filter gradient: m = filter row (mOff: its offset), k = dy row (table: its corner), b = dy;
;;  - forward pass: m = output pixel (mOff: its corner), k = filter row (table: its offset),
;;    b = the filter [KH * KW * Ci, Co] as tfjs keeps it (no packing);
;;  - input gradient: the forward pass of each stride phase (../conv2d-backprop-input.ts).
;; Requires M even (callers pad with a copy of the last row, or slice in even counts) and CO a
;; multiple of 16. The caller may run it on a range of m (mOff and out advanced) or of k (table and
;; b advanced, out a partial sum): ./kernel-threads.ts.
;;
;; Each pass of the innermost loop adds a 2 x 16 block of outputs: two a values splatted, four vec4
;; of b, eight vec4 accumulators, all in registers (14 of x86-64's 16 vector registers). K is taken
;; in chunks of kc rows so that a chunk of b (kc * CO * 4 bytes) stays in the L1 cache while every
;; output block passes over it; the accumulators start at zero in the first chunk and are stored to
;; and loaded from `out` between chunks. The sum over k runs in order, so the result does not depend
;; on kc.
;;
;; Also here, so that the caller's JavaScript does no per-row work: `padImages` (x into its
;; zero-padded copy), `sumPartials` (the slices' partial results added in order) and `addRowVector`
;; (a convolution's bias added to every output pixel).
(module
  MEMORY
  (func (export "gatherGemm")
    (param $table i32) (param $b i32) (param $kCount i32) (param $mOff i32) (param $M i32)
    (param $CO i32) (param $out i32) (param $kc i32)
    (local $k0 i32) (local $k1 i32) (local $co i32) (local $m i32)
    (local $oA i32) (local $oB i32) (local $xa i32) (local $dp i32) (local $tp i32) (local $tEnd i32)
    (local $rowBytes i32) (local $pA i32) (local $pB i32)
    (local $s0 v128) (local $s1 v128) (local $d0 v128) (local $d1 v128) (local $d2 v128) (local $d3 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (if (i32.le_s (local.get $kCount) (i32.const 0)) (then (return)))
    (local.set $rowBytes (i32.shl (local.get $CO) (i32.const 2)))
    (local.set $k0 (i32.const 0))
    (loop $chunks
      (local.set $k1 (i32.add (local.get $k0) (local.get $kc)))
      (if (i32.gt_u (local.get $k1) (local.get $kCount)) (then (local.set $k1 (local.get $kCount))))
      (local.set $co (i32.const 0))
      (loop $cos
        (local.set $m (i32.const 0))
        (loop $ms
          ;; the block: out rows m and m + 1, columns co .. co + 15
          (local.set $pA (i32.add (local.get $out)
            (i32.add (i32.mul (local.get $m) (local.get $rowBytes)) (i32.shl (local.get $co) (i32.const 2)))))
          (local.set $pB (i32.add (local.get $pA) (local.get $rowBytes)))
          (if (i32.eqz (local.get $k0))
            (then
              (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (local.get $a0))
              (local.set $a2 (local.get $a0)) (local.set $a3 (local.get $a0))
              (local.set $b0 (local.get $a0)) (local.set $b1 (local.get $a0))
              (local.set $b2 (local.get $a0)) (local.set $b3 (local.get $a0)))
            (else
              (local.set $a0 (v128.load offset=0 (local.get $pA)))
              (local.set $a1 (v128.load offset=16 (local.get $pA)))
              (local.set $a2 (v128.load offset=32 (local.get $pA)))
              (local.set $a3 (v128.load offset=48 (local.get $pA)))
              (local.set $b0 (v128.load offset=0 (local.get $pB)))
              (local.set $b1 (v128.load offset=16 (local.get $pB)))
              (local.set $b2 (v128.load offset=32 (local.get $pB)))
              (local.set $b3 (v128.load offset=48 (local.get $pB)))))
          (local.set $oA (i32.load (i32.add (local.get $mOff) (i32.shl (local.get $m) (i32.const 2)))))
          (local.set $oB (i32.load offset=4 (i32.add (local.get $mOff) (i32.shl (local.get $m) (i32.const 2)))))
          (local.set $tp (i32.add (local.get $table) (i32.shl (local.get $k0) (i32.const 2))))
          (local.set $tEnd (i32.add (local.get $table) (i32.shl (local.get $k1) (i32.const 2))))
          (local.set $dp (i32.add (i32.add (local.get $b) (i32.mul (local.get $k0) (local.get $rowBytes)))
            (i32.shl (local.get $co) (i32.const 2))))
          (loop $ks
            (local.set $xa (i32.load (local.get $tp)))
            (local.set $s0 (v128.load32_splat (i32.add (local.get $xa) (local.get $oA))))
            (local.set $s1 (v128.load32_splat (i32.add (local.get $xa) (local.get $oB))))
            (local.set $d0 (v128.load offset=0 (local.get $dp)))
            (local.set $d1 (v128.load offset=16 (local.get $dp)))
            (local.set $d2 (v128.load offset=32 (local.get $dp)))
            (local.set $d3 (v128.load offset=48 (local.get $dp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s0) (local.get $d0))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s0) (local.get $d1))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $s0) (local.get $d2))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $s0) (local.get $d3))))
            (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (local.get $s1) (local.get $d0))))
            (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (local.get $s1) (local.get $d1))))
            (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (local.get $s1) (local.get $d2))))
            (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (local.get $s1) (local.get $d3))))
            (local.set $tp (i32.add (local.get $tp) (i32.const 4)))
            (local.set $dp (i32.add (local.get $dp) (local.get $rowBytes)))
            (br_if $ks (i32.lt_u (local.get $tp) (local.get $tEnd))))
          (v128.store offset=0 (local.get $pA) (local.get $a0))
          (v128.store offset=16 (local.get $pA) (local.get $a1))
          (v128.store offset=32 (local.get $pA) (local.get $a2))
          (v128.store offset=48 (local.get $pA) (local.get $a3))
          (v128.store offset=0 (local.get $pB) (local.get $b0))
          (v128.store offset=16 (local.get $pB) (local.get $b1))
          (v128.store offset=32 (local.get $pB) (local.get $b2))
          (v128.store offset=48 (local.get $pB) (local.get $b3))
          (local.set $m (i32.add (local.get $m) (i32.const 2)))
          (br_if $ms (i32.lt_u (local.get $m) (local.get $M))))
        (local.set $co (i32.add (local.get $co) (i32.const 16)))
        (br_if $cos (i32.lt_u (local.get $co) (local.get $CO))))
      (local.set $k0 (local.get $k1))
      (br_if $chunks (i32.lt_u (local.get $k0) (local.get $kCount))))
  )
;; Copies `images` images of `rows` rows of rowBytes bytes each (contiguous, NHWC) into a padded
;; layout: image i's row r goes to dst + (i * dstRows + r + top) * dstRowBytes + leftBytes, and every
;; other byte of the images * dstRows * dstRowBytes bytes at dst is zero.
  (func (export "padImages")
    (param $src i32) (param $dst i32) (param $images i32) (param $rows i32) (param $rowBytes i32)
    (param $dstRows i32) (param $dstRowBytes i32) (param $top i32) (param $leftBytes i32)
    (local $i i32) (local $r i32) (local $to i32)
    (memory.fill (local.get $dst) (i32.const 0)
      (i32.mul (i32.mul (local.get $images) (local.get $dstRows)) (local.get $dstRowBytes)))
    (if (i32.or (i32.eqz (local.get $images)) (i32.eqz (local.get $rows))) (then (return)))
    (local.set $i (i32.const 0))
    (loop $imgs
      (local.set $to (i32.add (i32.add (local.get $dst) (local.get $leftBytes))
        (i32.mul (i32.add (i32.mul (local.get $i) (local.get $dstRows)) (local.get $top)) (local.get $dstRowBytes))))
      (local.set $r (i32.const 0))
      (loop $rs
        (memory.copy (local.get $to) (local.get $src) (local.get $rowBytes))
        (local.set $src (i32.add (local.get $src) (local.get $rowBytes)))
        (local.set $to (i32.add (local.get $to) (local.get $dstRowBytes)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br_if $rs (i32.lt_u (local.get $r) (local.get $rows))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $imgs (i32.lt_u (local.get $i) (local.get $images)))))

;; dst[j] = sum over s in [0, count) of src[s * strideBytes / 4 + j], added in order of s, for j in
;; [0, floats) (floats a multiple of 4).
  (func (export "sumPartials")
    (param $src i32) (param $count i32) (param $strideBytes i32) (param $dst i32) (param $floats i32)
    (local $j i32) (local $end i32) (local $p i32) (local $s i32) (local $acc v128)
    (local.set $end (i32.shl (local.get $floats) (i32.const 2)))
    (local.set $j (i32.const 0))
    (block $done
      (br_if $done (i32.eqz (local.get $floats)))
      (loop $js
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $p (i32.add (local.get $src) (local.get $j)))
        (local.set $s (i32.const 0))
        (block $sumDone
          (br_if $sumDone (i32.eqz (local.get $count)))
          (loop $ss
            (local.set $acc (f32x4.add (local.get $acc) (v128.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (local.get $strideBytes)))
            (local.set $s (i32.add (local.get $s) (i32.const 1)))
            (br_if $ss (i32.lt_u (local.get $s) (local.get $count)))))
        (v128.store (i32.add (local.get $dst) (local.get $j)) (local.get $acc))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br_if $js (i32.lt_u (local.get $j) (local.get $end))))))
;; dst[r, j] += vec[j] for r in [0, rows), j in [0, floats) (floats a multiple of 4; rows of
;; `floats` floats, contiguous).
  (func (export "addRowVector")
    (param $dst i32) (param $rows i32) (param $vec i32) (param $floats i32)
    (local $r i32) (local $j i32) (local $rowBytes i32) (local $p i32)
    (local.set $rowBytes (i32.shl (local.get $floats) (i32.const 2)))
    (block $done
      (br_if $done (i32.or (i32.eqz (local.get $rows)) (i32.eqz (local.get $floats))))
      (local.set $r (i32.const 0))
      (loop $rs
        (local.set $j (i32.const 0))
        (loop $js
          (local.set $p (i32.add (local.get $dst) (local.get $j)))
          (v128.store (local.get $p)
            (f32x4.add (v128.load (local.get $p)) (v128.load (i32.add (local.get $vec) (local.get $j)))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br_if $js (i32.lt_u (local.get $j) (local.get $rowBytes))))
        (local.set $dst (i32.add (local.get $dst) (local.get $rowBytes)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br_if $rs (i32.lt_u (local.get $r) (local.get $rows))))))
)
