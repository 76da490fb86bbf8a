;; A gather-GEMM for tfjs-backend-wasm's heap: the one kernel behind our convolution passes on
;; WebAssembly (issue 5). Compiled by scripts/build-wasm.mjs into ./binaries.ts, twice: importing a
;; shared memory (tfjs's threaded module) and an unshared one (its single-threaded module): the
;; script puts the import in place of the line MEMORY.
;;
;;   out[m, co] = sum_{k in [0, kCount)} a[table[k] + mOff[m]] * b[k, co]
;;
;; b's rows are read in order: row-major (CO floats each) where bPanelRows is 0, else in panels of
;; 16 columns, panel p (columns 16p .. 16p + 15) at b + p * bPanelRows * 64, its rows 64 bytes apart
;; (`packPanels` below; the callers copy b so, ../heap.ts `inPanels`); a is gathered: table[k] +
;; mOff[m] is the byte address of A[m, k]. All addresses and offsets are in bytes. With a
;; convolution's zero-padded input as a, the receptive field's corner of an output pixel and the
;; offset of a filter row (kh, kw, ci) from it:
;;  - filter gradient: m = filter row (mOff: its offset), k = dy row (table: its corner), b = dy;
;;  - forward pass: m = output pixel (mOff: its corner), k = filter row (table: its offset),
;;    b = the filter [KH * KW * Ci, Co];
;;  - input gradient: the forward pass of each stride phase (../conv2d-backprop-input.ts).
;; Output row m lies at out + m * CO * 4, or, where outTable is not 0, at the byte address
;; outTable[m] (int32 per row: the input gradient writes each stride phase's rows straight into dx).
;; Requires M even (callers pad with a copy of the last row, or slice in even counts) and CO a
;; multiple of 16. The caller may run it on a range of m (mOff and out advanced) or of k (table and
;; b advanced by rows, out a partial sum): ./kernel-threads.ts.
;;
;; Each pass of the innermost loop adds a 2 x 16 block of outputs: two a values splatted, four vec4
;; of b, eight vec4 accumulators, all in registers (14 of x86-64's 16 vector registers). K is taken
;; in chunks of kc rows so that a chunk of a panel (kc * 64 bytes) stays in the cache (L1 or L2) while every
;; output block passes over it; the accumulators start at zero in the first chunk and are stored to
;; and loaded from `out` between chunks. (A row-major b's rows lie CO * 4 bytes apart: with CO = 512
;; a chunk's 64-byte pieces fall in 2 of the L1 cache's 64 sets and evict each other; in panels they
;; are contiguous.) The sum over k runs in order, so the result does not depend
;; on kc.
;;
;; A row-major b (the RGB layer's dy in its filter gradient: 4 MB at batch 16 on DCGAN-64, fresh from
;; the op before, so in L3 or memory) is first read through once per chunk, in order, one load per
;; cache line, whose values are dropped: the blocks read it 64 bytes a row (CO * 4 bytes) apart, a
;; pattern the processor's prefetchers follow badly. On that layer's shapes (bench/gemm-kernel.bench.ts,
;; build machine, 2026-11-28, one thread, dy fresh) the kernel took 1.08-1.12x the forward pass's
;; kernel time without the pass and 1.035-1.06x with it (about 1.00-1.03x with dy already in the cache);
;; on two threads 2-3% less time. Reading the next chunk ahead instead saved less; copying the chunk
;; into panels, or all of dy (`packPanels`), cost more than it saved (docs/PERFORMANCE.md).
;;
;; Also here, so that the caller's JavaScript does no per-row work: `padImages` (x into its
;; zero-padded copy), `sumPartials` (the slices' partial results added in order) and `addRowVector`
;; (a convolution's bias added to every output pixel); and, for the rest of a training step (these
;; run on the calling thread only): `sumLeading` (Sum and Mean over a tensor's leading axes, ../reduce.ts)
;; and `adamUpdate` (Adam's update of one variable in one pass, ../../kernels/adam.ts);
;; `transposeBlock` (the input gradient's phase filters) and `interleavePhases` (its sub-pixel result
;; into dx); batch norm's training pass, `bnVariance`, `bnNormalize`, `bnBackwardSums` and
;; `bnInputGrad` (../batchnorm.ts); `leakyMul` (LeakyReLU and its gradient, ../leaky-relu.ts); and
;; `tanh` (../tanh.ts).
(module
  MEMORY
  (func (export "gatherGemm")
    (param $table i32) (param $b i32) (param $kCount i32) (param $mOff i32) (param $M i32)
    (param $CO i32) (param $out i32) (param $kc i32) (param $outTable i32) (param $bPanelRows i32)
    (local $bRowBytes i32) (local $bPanelBytes i32)
    (local $k0 i32) (local $k1 i32) (local $co i32) (local $m i32)
    (local $oA i32) (local $oB i32) (local $xa i32) (local $dp i32) (local $tp i32) (local $tEnd i32)
    (local $rowBytes i32) (local $pA i32) (local $pB i32) (local $tq i32) (local $tqEnd i32)
    (local $s0 v128) (local $s1 v128) (local $d0 v128) (local $d1 v128) (local $d2 v128) (local $d3 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    ;; no rows, or chunks of none (which would loop for ever): nothing (the callers refuse both)
    (if (i32.or (i32.le_s (local.get $kCount) (i32.const 0)) (i32.le_s (local.get $kc) (i32.const 0))) (then (return)))
    (local.set $rowBytes (i32.shl (local.get $CO) (i32.const 2)))
    ;; b row-major (rows of CO floats), or in panels of 16 columns (bPanelRows rows of 64 bytes each)
    (if (local.get $bPanelRows)
      (then
        (local.set $bRowBytes (i32.const 64))
        (local.set $bPanelBytes (i32.shl (local.get $bPanelRows) (i32.const 6))))
      (else
        (local.set $bRowBytes (local.get $rowBytes))
        (local.set $bPanelBytes (i32.const 64))))
    (local.set $k0 (i32.const 0))
    (loop $chunks
      (local.set $k1 (i32.add (local.get $k0) (local.get $kc)))
      (if (i32.gt_u (local.get $k1) (local.get $kCount)) (then (local.set $k1 (local.get $kCount))))
      ;; a row-major b: the chunk's rows read once in order first, a load per cache line (above)
      (if (i32.eqz (local.get $bPanelRows))
        (then
          (local.set $tq (i32.add (local.get $b) (i32.mul (local.get $k0) (local.get $rowBytes))))
          (local.set $tqEnd (i32.add (local.get $b) (i32.mul (local.get $k1) (local.get $rowBytes))))
          (loop $touch
            (drop (i32.load (local.get $tq)))
            (local.set $tq (i32.add (local.get $tq) (i32.const 64)))
            (br_if $touch (i32.lt_u (local.get $tq) (local.get $tqEnd))))))
      (local.set $co (i32.const 0))
      (loop $cos
        (local.set $m (i32.const 0))
        (loop $ms
          ;; the block: out rows m and m + 1, columns co .. co + 15
          (if (local.get $outTable)
            (then
              (local.set $pA (i32.add (i32.load (i32.add (local.get $outTable) (i32.shl (local.get $m) (i32.const 2))))
                (i32.shl (local.get $co) (i32.const 2))))
              (local.set $pB (i32.add (i32.load offset=4 (i32.add (local.get $outTable) (i32.shl (local.get $m) (i32.const 2))))
                (i32.shl (local.get $co) (i32.const 2)))))
            (else
              (local.set $pA (i32.add (local.get $out)
                (i32.add (i32.mul (local.get $m) (local.get $rowBytes)) (i32.shl (local.get $co) (i32.const 2)))))
              (local.set $pB (i32.add (local.get $pA) (local.get $rowBytes)))))
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
          (local.set $dp (i32.add (i32.add (local.get $b) (i32.mul (local.get $k0) (local.get $bRowBytes)))
            (i32.mul (i32.shr_u (local.get $co) (i32.const 4)) (local.get $bPanelBytes))))
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
            (local.set $dp (i32.add (local.get $dp) (local.get $bRowBytes)))
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
;; dst = src [rows, cols] (row-major, cols a multiple of 16) in panels of 16 columns: column block p
;; (columns 16p .. 16p + 15) at dst + p * panelRows * 64, one row of 64 bytes after another: the
;; layout gatherGemm reads with bPanelRows = panelRows. A slice of rows is the same call with src and
;; dst moved on (./kernel-threads.ts runs slices on every thread).
  (func (export "packPanels")
    (param $src i32) (param $rows i32) (param $cols i32) (param $dst i32) (param $panelRows i32)
    (local $r i32) (local $p i32) (local $s i32) (local $d i32) (local $panelBytes i32) (local $rowBytes i32)
    (block $done
      (br_if $done (i32.or (i32.eqz (local.get $rows)) (i32.eqz (local.get $cols))))
      (local.set $panelBytes (i32.shl (local.get $panelRows) (i32.const 6)))
      (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
      (local.set $r (i32.const 0))
      (loop $rs
        (local.set $s (i32.add (local.get $src) (i32.mul (local.get $r) (local.get $rowBytes))))
        (local.set $d (i32.add (local.get $dst) (i32.shl (local.get $r) (i32.const 6))))
        (local.set $p (i32.const 0))
        (loop $ps
          (v128.store offset=0 (local.get $d) (v128.load offset=0 (local.get $s)))
          (v128.store offset=16 (local.get $d) (v128.load offset=16 (local.get $s)))
          (v128.store offset=32 (local.get $d) (v128.load offset=32 (local.get $s)))
          (v128.store offset=48 (local.get $d) (v128.load offset=48 (local.get $s)))
          (local.set $s (i32.add (local.get $s) (i32.const 64)))
          (local.set $d (i32.add (local.get $d) (local.get $panelBytes)))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (br_if $ps (i32.lt_u (local.get $p) (local.get $cols))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br_if $rs (i32.lt_u (local.get $r) (local.get $rows))))))
;; Copies `images` images of `rows` rows of rowBytes bytes each (contiguous, NHWC) into a padded
;; layout: image i's row r goes to dst + (i * dstRows + r + top) * dstRowBytes + leftBytes, and every
;; other byte of the images * dstRows * dstRowBytes bytes at dst is zero. Images are independent:
;; ./kernel-threads.ts runs slices of them on every thread.
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

;; x [images, h, w, ci] (NHWC) in phase rows, for the filter gradient's 'direct' and
;; 'directRows' (../conv2d-backprop-filter.ts, `phaseRowTables`): x zero-padded (top rows and left
;; columns of padding, then as many as fill up * sh rows and vp * sw columns, vp a multiple of 4),
;; split by stride phase and channel into rows of vp floats: padded row u * sh + r, column v * sw + t,
;; channel c of image i lands at byte i * sImg + u * sU + r * sR + (t * ci + c) * sC + v * 4 of dst
;; (the caller picks the strides, so the layout). In one pass, image by image, and in an image four
;; planes (r, t, c .. c + 3) at a time, row u after row u: 4 x 4 tiles of (4 stride blocks v,
;; 4 channels c), each four vec4 loads (zero in the padding), eight shuffles and four stores, as in
;; `transposeBlock` below. Each of the four planes is written in order, a run of up * vp floats per
;; image: writing every plane's row u of a padded row in turn (128 planes at D2 of DCGAN-64) left
;; part-written cache lines behind and took twice as long (build machine, 2026-11-27). Images are
;; independent, so ./kernel-threads.ts runs slices of them on every thread. Where ci is not a
;; multiple of 4 (the RGB layer) `phaseRowsScalar` below does it a channel at a time.
  (func (export "phaseRows")
    (param $src i32) (param $dst i32) (param $images i32) (param $h i32) (param $w i32) (param $ci i32)
    (param $sh i32) (param $sw i32) (param $top i32) (param $left i32) (param $up i32) (param $vp i32)
    (param $sImg i32) (param $sU i32) (param $sR i32) (param $sC i32)
    (local $pixBytes i32) (local $rowBytes i32) (local $vpBytes i32) (local $img i32)
    (local $i i32) (local $u i32) (local $r i32) (local $y i32) (local $width i32)
    (local $t i32) (local $c i32) (local $col i32) (local $at i32) (local $q i32) (local $qEnd i32) (local $plane i32)
    (local $step i32) (local $step2 i32) (local $step3 i32) (local $step4 i32)
    (local $sw2 i32) (local $sw3 i32) (local $sw4 i32) (local $sC2 i32) (local $sC3 i32)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (if (i32.or (i32.or (i32.eqz (local.get $images)) (i32.eqz (local.get $up)))
          (i32.or (i32.eqz (local.get $ci)) (i32.eqz (local.get $vp)))) (then (return)))
    (if (i32.and (local.get $ci) (i32.const 3))
      (then
        (call $phaseRowsScalar (local.get $src) (local.get $dst) (local.get $images) (local.get $h) (local.get $w)
          (local.get $ci) (local.get $sh) (local.get $sw) (local.get $top) (local.get $left) (local.get $up) (local.get $vp)
          (local.get $sImg) (local.get $sU) (local.get $sR) (local.get $sC))
        (return)))
    (local.set $pixBytes (i32.shl (local.get $ci) (i32.const 2)))
    (local.set $rowBytes (i32.mul (local.get $w) (local.get $pixBytes)))
    (local.set $vpBytes (i32.shl (local.get $vp) (i32.const 2)))
    ;; four pixels sw apart, and the next four; four planes
    (local.set $step (i32.mul (local.get $sw) (local.get $pixBytes)))
    (local.set $step2 (i32.shl (local.get $step) (i32.const 1)))
    (local.set $step3 (i32.add (local.get $step2) (local.get $step)))
    (local.set $step4 (i32.shl (local.get $step) (i32.const 2)))
    (local.set $sw2 (i32.shl (local.get $sw) (i32.const 1)))
    (local.set $sw3 (i32.add (local.get $sw2) (local.get $sw)))
    (local.set $sw4 (i32.shl (local.get $sw) (i32.const 2)))
    (local.set $sC2 (i32.shl (local.get $sC) (i32.const 1)))
    (local.set $sC3 (i32.add (local.get $sC2) (local.get $sC)))
    (local.set $i (i32.const 0))
    (loop $imgs
      (local.set $img (i32.add (local.get $src) (i32.mul (i32.mul (local.get $i) (local.get $h)) (local.get $rowBytes))))
      (local.set $r (i32.const 0))
      (loop $rs
        (local.set $t (i32.const 0))
        (loop $ts
          (local.set $c (i32.const 0))
          (loop $cs
            ;; planes (r, t, c .. c + 3) of image i, row after row
            (local.set $plane (i32.add (local.get $dst) (i32.add (i32.add (i32.mul (local.get $i) (local.get $sImg))
              (i32.mul (local.get $r) (local.get $sR))) (i32.mul (i32.add (i32.mul (local.get $t) (local.get $ci)) (local.get $c)) (local.get $sC)))))
            (local.set $u (i32.const 0))
            (loop $us
              (local.set $y (i32.sub (i32.add (i32.mul (local.get $u) (local.get $sh)) (local.get $r)) (local.get $top)))
              ;; a row of the padding: every column reads as padding
              (local.set $width (select (local.get $w) (i32.const 0) (i32.lt_u (local.get $y) (local.get $h))))
              ;; from pixel t - left of row y, channels c .. c + 3, four pixels sw apart per pass (zero
              ;; in the padding), into floats v .. v + 3 of row u of the four planes
              (local.set $col (i32.sub (local.get $t) (local.get $left)))
              (local.set $at (i32.add (i32.add (local.get $img) (i32.mul (local.get $y) (local.get $rowBytes)))
                (i32.add (i32.mul (local.get $col) (local.get $pixBytes)) (i32.shl (local.get $c) (i32.const 2)))))
              (local.set $q (i32.add (local.get $plane) (i32.mul (local.get $u) (local.get $sU))))
              (local.set $qEnd (i32.add (local.get $q) (local.get $vpBytes)))
              (loop $vs
                (local.set $x0 (if (result v128) (i32.lt_u (local.get $col) (local.get $width))
                  (then (v128.load (local.get $at))) (else (v128.const i32x4 0 0 0 0))))
                (local.set $x1 (if (result v128) (i32.lt_u (i32.add (local.get $col) (local.get $sw)) (local.get $width))
                  (then (v128.load (i32.add (local.get $at) (local.get $step)))) (else (v128.const i32x4 0 0 0 0))))
                (local.set $x2 (if (result v128) (i32.lt_u (i32.add (local.get $col) (local.get $sw2)) (local.get $width))
                  (then (v128.load (i32.add (local.get $at) (local.get $step2)))) (else (v128.const i32x4 0 0 0 0))))
                (local.set $x3 (if (result v128) (i32.lt_u (i32.add (local.get $col) (local.get $sw3)) (local.get $width))
                  (then (v128.load (i32.add (local.get $at) (local.get $step3)))) (else (v128.const i32x4 0 0 0 0))))
                (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x0) (local.get $x1)))
                (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x0) (local.get $x1)))
                (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x2) (local.get $x3)))
                (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x2) (local.get $x3)))
                ;; channel c + j: plane t * ci + c + j
                (v128.store (local.get $q) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
                (v128.store (i32.add (local.get $q) (local.get $sC))
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
                (v128.store (i32.add (local.get $q) (local.get $sC2))
                  (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
                (v128.store (i32.add (local.get $q) (local.get $sC3))
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
                (local.set $col (i32.add (local.get $col) (local.get $sw4)))
                (local.set $at (i32.add (local.get $at) (local.get $step4)))
                (local.set $q (i32.add (local.get $q) (i32.const 16)))
                (br_if $vs (i32.lt_u (local.get $q) (local.get $qEnd))))
              (local.set $u (i32.add (local.get $u) (i32.const 1)))
              (br_if $us (i32.lt_u (local.get $u) (local.get $up))))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br_if $cs (i32.lt_u (local.get $c) (local.get $ci))))
          (local.set $t (i32.add (local.get $t) (i32.const 1)))
          (br_if $ts (i32.lt_u (local.get $t) (local.get $sw))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br_if $rs (i32.lt_u (local.get $r) (local.get $sh))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $imgs (i32.lt_u (local.get $i) (local.get $images)))))

;; `phaseRows` for any ci (called by it where ci is not a multiple of 4), the same layout: image by
;; image, row u after row u, and for each row u every plane (r, t, c) in turn, each vec4 of the plane's
;; row gathered from four pixels sw apart: four loads without tests where all four lie in the image,
;; else tested one by one (zero in the padding). The RGB layer has 12 planes (sh = sw = 2, ci = 3), so
;; a row of x is read 6 times while it is in the L1 cache; a plane at a time, over the whole image
;; (48 KiB on DCGAN-64), it came from L2 each time: 0.16 -> 0.11 ms at batch 16 and 0.65-0.69 -> 0.44
;; at 64 (one thread, x fresh; build machine, 2026-11-28), and the loads without tests took that to
;; 0.10 and 0.37 (the same bytes out).
  (func $phaseRowsScalar
    (param $src i32) (param $dst i32) (param $images i32) (param $h i32) (param $w i32) (param $ci i32)
    (param $sh i32) (param $sw i32) (param $top i32) (param $left i32) (param $up i32) (param $vp i32)
    (param $sImg i32) (param $sU i32) (param $sR i32) (param $sC i32)
    (local $pixBytes i32) (local $rowBytes i32) (local $vpBytes i32) (local $img i32)
    (local $i i32) (local $u i32) (local $r i32) (local $y i32) (local $width i32)
    (local $t i32) (local $c i32) (local $col i32) (local $at i32) (local $q i32) (local $qEnd i32) (local $plane i32)
    (local $step i32) (local $step2 i32) (local $step3 i32) (local $step4 i32) (local $sw2 i32) (local $sw3 i32) (local $sw4 i32)
    (local $v v128)
    (local.set $pixBytes (i32.shl (local.get $ci) (i32.const 2)))
    (local.set $rowBytes (i32.mul (local.get $w) (local.get $pixBytes)))
    (local.set $vpBytes (i32.shl (local.get $vp) (i32.const 2)))
    (local.set $step (i32.mul (local.get $sw) (local.get $pixBytes)))
    (local.set $step2 (i32.shl (local.get $step) (i32.const 1)))
    (local.set $step3 (i32.add (local.get $step2) (local.get $step)))
    (local.set $step4 (i32.shl (local.get $step) (i32.const 2)))
    (local.set $sw2 (i32.shl (local.get $sw) (i32.const 1)))
    (local.set $sw3 (i32.add (local.get $sw2) (local.get $sw)))
    (local.set $sw4 (i32.shl (local.get $sw) (i32.const 2)))
    (local.set $i (i32.const 0))
    (loop $imgs
      (local.set $img (i32.add (local.get $src) (i32.mul (i32.mul (local.get $i) (local.get $h)) (local.get $rowBytes))))
      (local.set $u (i32.const 0))
      (loop $us
        (local.set $r (i32.const 0))
        (loop $rs
          (local.set $t (i32.const 0))
          (loop $ts
            (local.set $c (i32.const 0))
            (loop $cs
              (local.set $plane (i32.add (local.get $dst) (i32.add (i32.add (i32.mul (local.get $i) (local.get $sImg))
                (i32.mul (local.get $r) (local.get $sR))) (i32.mul (i32.add (i32.mul (local.get $t) (local.get $ci)) (local.get $c)) (local.get $sC)))))
              (local.set $y (i32.sub (i32.add (i32.mul (local.get $u) (local.get $sh)) (local.get $r)) (local.get $top)))
              (local.set $width (select (local.get $w) (i32.const 0) (i32.lt_u (local.get $y) (local.get $h))))
              (local.set $col (i32.sub (local.get $t) (local.get $left)))
              (local.set $at (i32.add (i32.add (local.get $img) (i32.mul (local.get $y) (local.get $rowBytes)))
                (i32.add (i32.mul (local.get $col) (local.get $pixBytes)) (i32.shl (local.get $c) (i32.const 2)))))
              (local.set $q (i32.add (local.get $plane) (i32.mul (local.get $u) (local.get $sU))))
              (local.set $qEnd (i32.add (local.get $q) (local.get $vpBytes)))
              (loop $vs
                (if (i32.and (i32.ge_s (local.get $col) (i32.const 0)) (i32.lt_s (i32.add (local.get $col) (local.get $sw3)) (local.get $width)))
                  (then
                    (local.set $v (v128.load32_zero (local.get $at)))
                    (local.set $v (v128.load32_lane 1 (i32.add (local.get $at) (local.get $step)) (local.get $v)))
                    (local.set $v (v128.load32_lane 2 (i32.add (local.get $at) (local.get $step2)) (local.get $v)))
                    (local.set $v (v128.load32_lane 3 (i32.add (local.get $at) (local.get $step3)) (local.get $v))))
                  (else
                    (local.set $v (v128.const i32x4 0 0 0 0))
                    (if (i32.lt_u (local.get $col) (local.get $width))
                      (then (local.set $v (f32x4.replace_lane 0 (local.get $v) (f32.load (local.get $at))))))
                    (if (i32.lt_u (i32.add (local.get $col) (local.get $sw)) (local.get $width))
                      (then (local.set $v (f32x4.replace_lane 1 (local.get $v) (f32.load (i32.add (local.get $at) (local.get $step)))))))
                    (if (i32.lt_u (i32.add (local.get $col) (local.get $sw2)) (local.get $width))
                      (then (local.set $v (f32x4.replace_lane 2 (local.get $v) (f32.load (i32.add (local.get $at) (local.get $step2)))))))
                    (if (i32.lt_u (i32.add (local.get $col) (local.get $sw3)) (local.get $width))
                      (then (local.set $v (f32x4.replace_lane 3 (local.get $v) (f32.load (i32.add (local.get $at) (local.get $step3)))))))))
                (v128.store (local.get $q) (local.get $v))
                (local.set $col (i32.add (local.get $col) (local.get $sw4)))
                (local.set $at (i32.add (local.get $at) (local.get $step4)))
                (local.set $q (i32.add (local.get $q) (i32.const 16)))
                (br_if $vs (i32.lt_u (local.get $q) (local.get $qEnd))))
              (local.set $c (i32.add (local.get $c) (i32.const 1)))
              (br_if $cs (i32.lt_u (local.get $c) (local.get $ci))))
            (local.set $t (i32.add (local.get $t) (i32.const 1)))
            (br_if $ts (i32.lt_u (local.get $t) (local.get $sw))))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br_if $rs (i32.lt_u (local.get $r) (local.get $sh))))
        (local.set $u (i32.add (local.get $u) (i32.const 1)))
        (br_if $us (i32.lt_u (local.get $u) (local.get $up))))
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
;; dst[j] = (sum over r in [0, rows) of src[r * cols + j], added in order of r) / divisor, for j in
;; [0, cols): the columns of a row-major [rows, cols] block summed, in the order tfjs-backend-wasm's
;; Sum and Mean add them after transposing (so the same bits; a divisor of 1 leaves the sums as they
;; are). 16 columns at a time (four vec4 sums), then 4, then one.
  (func (export "sumLeading")
    (param $src i32) (param $rows i32) (param $cols i32) (param $dst i32) (param $divisor f32)
    (local $j i32) (local $r i32) (local $p i32) (local $rowBytes i32) (local $div v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $s f32)
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $div (f32x4.splat (local.get $divisor)))
    (local.set $j (i32.const 0))
    (block $wideDone
      (loop $wide
        (br_if $wideDone (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $cols)))
        (local.set $s0 (v128.const i32x4 0 0 0 0)) (local.set $s1 (local.get $s0))
        (local.set $s2 (local.get $s0)) (local.set $s3 (local.get $s0))
        (local.set $p (i32.add (local.get $src) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $r (i32.const 0))
        (block $rowsDone
          (br_if $rowsDone (i32.eqz (local.get $rows)))
          (loop $rs
            (local.set $s0 (f32x4.add (local.get $s0) (v128.load offset=0 (local.get $p))))
            (local.set $s1 (f32x4.add (local.get $s1) (v128.load offset=16 (local.get $p))))
            (local.set $s2 (f32x4.add (local.get $s2) (v128.load offset=32 (local.get $p))))
            (local.set $s3 (f32x4.add (local.get $s3) (v128.load offset=48 (local.get $p))))
            (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br_if $rs (i32.lt_u (local.get $r) (local.get $rows)))))
        (local.set $p (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2))))
        (v128.store offset=0 (local.get $p) (f32x4.div (local.get $s0) (local.get $div)))
        (v128.store offset=16 (local.get $p) (f32x4.div (local.get $s1) (local.get $div)))
        (v128.store offset=32 (local.get $p) (f32x4.div (local.get $s2) (local.get $div)))
        (v128.store offset=48 (local.get $p) (f32x4.div (local.get $s3) (local.get $div)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $wide)))
    (block $quadDone
      (loop $quad
        (br_if $quadDone (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $cols)))
        (local.set $s0 (v128.const i32x4 0 0 0 0))
        (local.set $p (i32.add (local.get $src) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $r (i32.const 0))
        (block $rowsDone
          (br_if $rowsDone (i32.eqz (local.get $rows)))
          (loop $rs
            (local.set $s0 (f32x4.add (local.get $s0) (v128.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br_if $rs (i32.lt_u (local.get $r) (local.get $rows)))))
        (v128.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2))) (f32x4.div (local.get $s0) (local.get $div)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $quad)))
    (block $oneDone
      (loop $one
        (br_if $oneDone (i32.ge_u (local.get $j) (local.get $cols)))
        (local.set $s (f32.const 0))
        (local.set $p (i32.add (local.get $src) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $r (i32.const 0))
        (block $rowsDone
          (br_if $rowsDone (i32.eqz (local.get $rows)))
          (loop $rs
            (local.set $s (f32.add (local.get $s) (f32.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br_if $rs (i32.lt_u (local.get $r) (local.get $rows)))))
        (f32.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2))) (f32.div (local.get $s) (local.get $divisor)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $one))))
;; Adam's update of one variable of n floats, in one pass, with tfjs-core 4.22's AdamOptimizer's
;; operations in its order (each rounded to float32 as its separate ops round them):
;;   m' = m * beta1 + g * c1            (c1 = 1 - beta1)
;;   v' = v * beta2 + (g * g) * c2      (c2 = 1 - beta2)
;;   w' = ((m' / (1 - accBeta1)) / (sqrt(v' / (1 - accBeta2)) + eps)) * negLr + w
;; accBeta1 and accBeta2 are the optimizer's scalar variables, read here at their byte addresses. The
;; results go to outW, outM, outV (new tensors, which the caller assigns to the variables).
  (func (export "adamUpdate")
    (param $w i32) (param $m i32) (param $v i32) (param $g i32)
    (param $outW i32) (param $outM i32) (param $outV i32) (param $n i32)
    (param $beta1 f32) (param $beta2 f32) (param $c1 f32) (param $c2 f32) (param $negLr f32) (param $eps f32)
    (param $accBeta1 i32) (param $accBeta2 i32)
    (local $i i32) (local $end i32) (local $o i32)
    (local $omb1 f32) (local $omb2 f32) (local $gs f32) (local $m1 f32) (local $v1 f32)
    (local $vb1 v128) (local $vb2 v128) (local $vc1 v128) (local $vc2 v128) (local $vlr v128) (local $veps v128)
    (local $vo1 v128) (local $vo2 v128) (local $gv v128) (local $mv v128) (local $vv v128)
    (local.set $omb1 (f32.sub (f32.const 1) (f32.load (local.get $accBeta1))))
    (local.set $omb2 (f32.sub (f32.const 1) (f32.load (local.get $accBeta2))))
    (local.set $vb1 (f32x4.splat (local.get $beta1))) (local.set $vb2 (f32x4.splat (local.get $beta2)))
    (local.set $vc1 (f32x4.splat (local.get $c1))) (local.set $vc2 (f32x4.splat (local.get $c2)))
    (local.set $vlr (f32x4.splat (local.get $negLr))) (local.set $veps (f32x4.splat (local.get $eps)))
    (local.set $vo1 (f32x4.splat (local.get $omb1))) (local.set $vo2 (f32x4.splat (local.get $omb2)))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $o (i32.const 0))
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.ge_u (local.get $o) (local.get $end)))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $o))))
        (local.set $mv (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $o))) (local.get $vb1))
          (f32x4.mul (local.get $gv) (local.get $vc1))))
        (local.set $vv (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $o))) (local.get $vb2))
          (f32x4.mul (f32x4.mul (local.get $gv) (local.get $gv)) (local.get $vc2))))
        (v128.store (i32.add (local.get $outM) (local.get $o)) (local.get $mv))
        (v128.store (i32.add (local.get $outV) (local.get $o)) (local.get $vv))
        (v128.store (i32.add (local.get $outW) (local.get $o))
          (f32x4.add
            (f32x4.mul
              (f32x4.div (f32x4.div (local.get $mv) (local.get $vo1))
                (f32x4.add (f32x4.sqrt (f32x4.div (local.get $vv) (local.get $vo2))) (local.get $veps)))
              (local.get $vlr))
            (v128.load (i32.add (local.get $w) (local.get $o)))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $vec)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $oneDone
      (loop $one
        (br_if $oneDone (i32.ge_u (local.get $o) (local.get $end)))
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $o))))
        (local.set $m1 (f32.add (f32.mul (f32.load (i32.add (local.get $m) (local.get $o))) (local.get $beta1))
          (f32.mul (local.get $gs) (local.get $c1))))
        (local.set $v1 (f32.add (f32.mul (f32.load (i32.add (local.get $v) (local.get $o))) (local.get $beta2))
          (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (local.get $c2))))
        (f32.store (i32.add (local.get $outM) (local.get $o)) (local.get $m1))
        (f32.store (i32.add (local.get $outV) (local.get $o)) (local.get $v1))
        (f32.store (i32.add (local.get $outW) (local.get $o))
          (f32.add
            (f32.mul
              (f32.div (f32.div (local.get $m1) (local.get $omb1))
                (f32.add (f32.sqrt (f32.div (local.get $v1) (local.get $omb2))) (local.get $eps)))
              (local.get $negLr))
            (f32.load (i32.add (local.get $w) (local.get $o)))))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $one))))
;; dst[c, r] = src[r, c] for a row-major [rows, cols] block (rows and cols multiples of 4): 4 x 4
;; tiles, each four vec4 loads, eight shuffles and four stores; the tiles of 64 columns at a time, so
;; that the 64 destination rows being written stay in the L1 cache while the source rows stream.
;; The input gradient's phase filters are the filter's [Ci, Co] blocks transposed (../conv2d-backprop-input.ts).
  (func (export "transposeBlock")
    (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32)
    (local $cb i32) (local $cEnd i32) (local $r i32) (local $c i32) (local $p i32) (local $q i32)
    (local $srcRow i32) (local $dstRow i32)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $srcRow (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $dstRow (i32.shl (local.get $rows) (i32.const 2)))
    (local.set $cb (i32.const 0))
    (block $done
      (loop $colBlocks
        (br_if $done (i32.ge_u (local.get $cb) (local.get $cols)))
        (local.set $cEnd (i32.add (local.get $cb) (i32.const 64)))
        (if (i32.gt_u (local.get $cEnd) (local.get $cols)) (then (local.set $cEnd (local.get $cols))))
        (local.set $r (i32.const 0))
        (block $rowsDone
          (loop $rs
            (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
            (local.set $c (local.get $cb))
            (loop $cs
              ;; rows r..r+3, columns c..c+3 of src
              (local.set $p (i32.add (local.get $src)
                (i32.add (i32.mul (local.get $r) (local.get $srcRow)) (i32.shl (local.get $c) (i32.const 2)))))
              (local.set $x0 (v128.load (local.get $p)))
              (local.set $x1 (v128.load (i32.add (local.get $p) (local.get $srcRow))))
              (local.set $x2 (v128.load (i32.add (local.get $p) (i32.shl (local.get $srcRow) (i32.const 1)))))
              (local.set $x3 (v128.load (i32.add (local.get $p) (i32.mul (local.get $srcRow) (i32.const 3)))))
              ;; t0 = x0[0] x1[0] x0[1] x1[1], t1 = x0[2] x1[2] x0[3] x1[3]; t2, t3 likewise of x2, x3
              (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x0) (local.get $x1)))
              (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x0) (local.get $x1)))
              (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x2) (local.get $x3)))
              (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x2) (local.get $x3)))
              ;; column c + i of src becomes row c + i of dst: x0[i] x1[i] x2[i] x3[i]
              (local.set $q (i32.add (local.get $dst)
                (i32.add (i32.mul (local.get $c) (local.get $dstRow)) (i32.shl (local.get $r) (i32.const 2)))))
              (v128.store (local.get $q) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
              (v128.store (i32.add (local.get $q) (local.get $dstRow))
                (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
              (v128.store (i32.add (local.get $q) (i32.shl (local.get $dstRow) (i32.const 1)))
                (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
              (v128.store (i32.add (local.get $q) (i32.mul (local.get $dstRow) (i32.const 3)))
                (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
              (local.set $c (i32.add (local.get $c) (i32.const 4)))
              (br_if $cs (i32.lt_u (local.get $c) (local.get $cEnd))))
            (local.set $r (i32.add (local.get $r) (i32.const 4)))
            (br $rs)))
        (local.set $cb (local.get $cEnd))
        (br $colBlocks))))

;; Batch normalisation's training pass (../batchnorm.ts) over x viewed as [rows, cols], the channel
;; its last axis (cols a multiple of 16), with the arithmetic of the WebGPU programs
;; (../../kernels/batchnorm-kernels.ts); its mean is `sumLeading`'s. The column sums walk 16 columns down all rows, adding in row
;; order; the element-wise passes go through the rows in order with each column's coefficients
;; computed once into `coef` (scratch). All run on the calling thread.
;;
;; bnVariance: variance = sum((x - mean)^2) / n (biased; the mean from `sumLeading` first).
  (func (export "bnVariance")
    (param $x i32) (param $rows i32) (param $cols i32) (param $mean i32) (param $variance i32) (param $n f32)
    (local $j i32) (local $r i32) (local $p i32) (local $rowBytes i32) (local $vn v128) (local $d v128)
    (local $m0 v128) (local $m1 v128) (local $m2 v128) (local $m3 v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $vn (f32x4.splat (local.get $n)))
    (block $done
      (br_if $done (i32.or (i32.eqz (local.get $rows)) (i32.eqz (local.get $cols))))
      (local.set $j (i32.const 0))
      (loop $groups
        (local.set $p (i32.add (local.get $mean) (local.get $j)))
        (local.set $m0 (v128.load offset=0 (local.get $p)))
        (local.set $m1 (v128.load offset=16 (local.get $p)))
        (local.set $m2 (v128.load offset=32 (local.get $p)))
        (local.set $m3 (v128.load offset=48 (local.get $p)))
        (local.set $s0 (v128.const i32x4 0 0 0 0)) (local.set $s1 (local.get $s0))
        (local.set $s2 (local.get $s0)) (local.set $s3 (local.get $s0))
        (local.set $p (i32.add (local.get $x) (local.get $j)))
        (local.set $r (i32.const 0))
        (loop $devs
          (local.set $d (f32x4.sub (v128.load offset=0 (local.get $p)) (local.get $m0)))
          (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $d (f32x4.sub (v128.load offset=16 (local.get $p)) (local.get $m1)))
          (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $d (f32x4.sub (v128.load offset=32 (local.get $p)) (local.get $m2)))
          (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $d (f32x4.sub (v128.load offset=48 (local.get $p)) (local.get $m3)))
          (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br_if $devs (i32.lt_u (local.get $r) (local.get $rows))))
        (local.set $p (i32.add (local.get $variance) (local.get $j)))
        (v128.store offset=0 (local.get $p) (f32x4.div (local.get $s0) (local.get $vn)))
        (v128.store offset=16 (local.get $p) (f32x4.div (local.get $s1) (local.get $vn)))
        (v128.store offset=32 (local.get $p) (f32x4.div (local.get $s2) (local.get $vn)))
        (v128.store offset=48 (local.get $p) (f32x4.div (local.get $s3) (local.get $vn)))
        (local.set $j (i32.add (local.get $j) (i32.const 64)))
        (br_if $groups (i32.lt_u (local.get $j) (local.get $rowBytes))))))
;; bnBackwardSums: dbeta = sum(dy); dgamma = sum(dy * (x - mean)) * (1 / sqrt(variance + eps)).
  (func (export "bnBackwardSums")
    (param $dy i32) (param $x i32) (param $rows i32) (param $cols i32) (param $mean i32) (param $variance i32)
    (param $eps f32) (param $dbeta i32) (param $dgamma i32)
    (local $j i32) (local $r i32) (local $p i32) (local $q i32) (local $rowBytes i32) (local $g v128)
    (local $m0 v128) (local $m1 v128) (local $m2 v128) (local $m3 v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (block $done
      (br_if $done (i32.eqz (local.get $cols)))
      (local.set $j (i32.const 0))
      (loop $groups
        (local.set $p (i32.add (local.get $mean) (local.get $j)))
        (local.set $m0 (v128.load offset=0 (local.get $p)))
        (local.set $m1 (v128.load offset=16 (local.get $p)))
        (local.set $m2 (v128.load offset=32 (local.get $p)))
        (local.set $m3 (v128.load offset=48 (local.get $p)))
        (local.set $s0 (v128.const i32x4 0 0 0 0)) (local.set $s1 (local.get $s0))
        (local.set $s2 (local.get $s0)) (local.set $s3 (local.get $s0))
        (local.set $t0 (local.get $s0)) (local.set $t1 (local.get $s0))
        (local.set $t2 (local.get $s0)) (local.set $t3 (local.get $s0))
        (local.set $p (i32.add (local.get $dy) (local.get $j)))
        (local.set $q (i32.add (local.get $x) (local.get $j)))
        (local.set $r (i32.const 0))
        (block $rowsDone
          (br_if $rowsDone (i32.eqz (local.get $rows)))
          (loop $rs
            (local.set $g (v128.load offset=0 (local.get $p)))
            (local.set $s0 (f32x4.add (local.get $s0) (local.get $g)))
            (local.set $t0 (f32x4.add (local.get $t0) (f32x4.mul (local.get $g) (f32x4.sub (v128.load offset=0 (local.get $q)) (local.get $m0)))))
            (local.set $g (v128.load offset=16 (local.get $p)))
            (local.set $s1 (f32x4.add (local.get $s1) (local.get $g)))
            (local.set $t1 (f32x4.add (local.get $t1) (f32x4.mul (local.get $g) (f32x4.sub (v128.load offset=16 (local.get $q)) (local.get $m1)))))
            (local.set $g (v128.load offset=32 (local.get $p)))
            (local.set $s2 (f32x4.add (local.get $s2) (local.get $g)))
            (local.set $t2 (f32x4.add (local.get $t2) (f32x4.mul (local.get $g) (f32x4.sub (v128.load offset=32 (local.get $q)) (local.get $m2)))))
            (local.set $g (v128.load offset=48 (local.get $p)))
            (local.set $s3 (f32x4.add (local.get $s3) (local.get $g)))
            (local.set $t3 (f32x4.add (local.get $t3) (f32x4.mul (local.get $g) (f32x4.sub (v128.load offset=48 (local.get $q)) (local.get $m3)))))
            (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
            (local.set $q (i32.add (local.get $q) (local.get $rowBytes)))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br_if $rs (i32.lt_u (local.get $r) (local.get $rows)))))
        (local.set $p (i32.add (local.get $dbeta) (local.get $j)))
        (v128.store offset=0 (local.get $p) (local.get $s0))
        (v128.store offset=16 (local.get $p) (local.get $s1))
        (v128.store offset=32 (local.get $p) (local.get $s2))
        (v128.store offset=48 (local.get $p) (local.get $s3))
        (local.set $p (i32.add (local.get $dgamma) (local.get $j)))
        (local.set $q (i32.add (local.get $variance) (local.get $j)))
        (local.set $g (f32x4.splat (local.get $eps)))
        (v128.store offset=0 (local.get $p) (f32x4.mul (local.get $t0)
          (f32x4.div (f32x4.splat (f32.const 1)) (f32x4.sqrt (f32x4.add (v128.load offset=0 (local.get $q)) (local.get $g))))))
        (v128.store offset=16 (local.get $p) (f32x4.mul (local.get $t1)
          (f32x4.div (f32x4.splat (f32.const 1)) (f32x4.sqrt (f32x4.add (v128.load offset=16 (local.get $q)) (local.get $g))))))
        (v128.store offset=32 (local.get $p) (f32x4.mul (local.get $t2)
          (f32x4.div (f32x4.splat (f32.const 1)) (f32x4.sqrt (f32x4.add (v128.load offset=32 (local.get $q)) (local.get $g))))))
        (v128.store offset=48 (local.get $p) (f32x4.mul (local.get $t3)
          (f32x4.div (f32x4.splat (f32.const 1)) (f32x4.sqrt (f32x4.add (v128.load offset=48 (local.get $q)) (local.get $g))))))
        (local.set $j (i32.add (local.get $j) (i32.const 64)))
        (br_if $groups (i32.lt_u (local.get $j) (local.get $rowBytes))))))
;; bnNormalize: y = ((x - mean) * rstd) * gamma + beta, rstd = 1 / sqrt(variance + eps) (into coef:
;; cols floats).
  (func (export "bnNormalize")
    (param $x i32) (param $rows i32) (param $cols i32) (param $mean i32) (param $variance i32)
    (param $gamma i32) (param $beta i32) (param $eps f32) (param $coef i32) (param $y i32)
    (local $c i32) (local $o i32) (local $end i32) (local $rowBytes i32) (local $ve v128)
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $end (i32.mul (local.get $rows) (local.get $rowBytes)))
    (local.set $ve (f32x4.splat (local.get $eps)))
    (block $done
      (br_if $done (i32.eqz (local.get $end)))
      (local.set $c (i32.const 0))
      (loop $coefs
        (v128.store (i32.add (local.get $coef) (local.get $c))
          (f32x4.div (f32x4.splat (f32.const 1))
            (f32x4.sqrt (f32x4.add (v128.load (i32.add (local.get $variance) (local.get $c))) (local.get $ve)))))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br_if $coefs (i32.lt_u (local.get $c) (local.get $rowBytes))))
      (local.set $o (i32.const 0))
      (local.set $c (i32.const 0))
      (loop $values
        (v128.store (i32.add (local.get $y) (local.get $o))
          (f32x4.add
            (f32x4.mul
              (f32x4.mul
                (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $o))) (v128.load (i32.add (local.get $mean) (local.get $c))))
                (v128.load (i32.add (local.get $coef) (local.get $c))))
              (v128.load (i32.add (local.get $gamma) (local.get $c))))
            (v128.load (i32.add (local.get $beta) (local.get $c)))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (if (i32.eq (local.get $c) (local.get $rowBytes)) (then (local.set $c (i32.const 0))))
        (br_if $values (i32.lt_u (local.get $o) (local.get $end))))))
;; bnInputGrad: with rstd = 1 / sqrt(variance + eps) and xhat = (x - mean) * rstd,
;;   dx = ((dy - dbeta / n) - xhat * (dgamma / n)) * (gamma * rstd)
;; (coef: 4 * cols floats, each column's rstd, dbeta / n, dgamma / n and gamma * rstd).
  (func (export "bnInputGrad")
    (param $dy i32) (param $x i32) (param $rows i32) (param $cols i32) (param $mean i32) (param $variance i32)
    (param $gamma i32) (param $dbeta i32) (param $dgamma i32) (param $n f32) (param $eps f32)
    (param $coef i32) (param $dx i32)
    (local $c i32) (local $o i32) (local $end i32) (local $rowBytes i32) (local $vn v128) (local $r v128)
    (local $pr i32) (local $pa i32) (local $pb i32) (local $ps i32)
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $end (i32.mul (local.get $rows) (local.get $rowBytes)))
    (local.set $vn (f32x4.splat (local.get $n)))
    (local.set $pr (local.get $coef))
    (local.set $pa (i32.add (local.get $pr) (local.get $rowBytes)))
    (local.set $pb (i32.add (local.get $pa) (local.get $rowBytes)))
    (local.set $ps (i32.add (local.get $pb) (local.get $rowBytes)))
    (block $done
      (br_if $done (i32.eqz (local.get $end)))
      (local.set $c (i32.const 0))
      (loop $coefs
        (local.set $r (f32x4.div (f32x4.splat (f32.const 1))
          (f32x4.sqrt (f32x4.add (v128.load (i32.add (local.get $variance) (local.get $c))) (f32x4.splat (local.get $eps))))))
        (v128.store (i32.add (local.get $pr) (local.get $c)) (local.get $r))
        (v128.store (i32.add (local.get $pa) (local.get $c)) (f32x4.div (v128.load (i32.add (local.get $dbeta) (local.get $c))) (local.get $vn)))
        (v128.store (i32.add (local.get $pb) (local.get $c)) (f32x4.div (v128.load (i32.add (local.get $dgamma) (local.get $c))) (local.get $vn)))
        (v128.store (i32.add (local.get $ps) (local.get $c)) (f32x4.mul (v128.load (i32.add (local.get $gamma) (local.get $c))) (local.get $r)))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br_if $coefs (i32.lt_u (local.get $c) (local.get $rowBytes))))
      (local.set $o (i32.const 0))
      (local.set $c (i32.const 0))
      (loop $values
        (v128.store (i32.add (local.get $dx) (local.get $o))
          (f32x4.mul
            (f32x4.sub
              (f32x4.sub (v128.load (i32.add (local.get $dy) (local.get $o))) (v128.load (i32.add (local.get $pa) (local.get $c))))
              (f32x4.mul
                (f32x4.mul
                  (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $o))) (v128.load (i32.add (local.get $mean) (local.get $c))))
                  (v128.load (i32.add (local.get $pr) (local.get $c))))
                (v128.load (i32.add (local.get $pb) (local.get $c)))))
            (v128.load (i32.add (local.get $ps) (local.get $c)))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (if (i32.eq (local.get $c) (local.get $rowBytes)) (then (local.set $c (i32.const 0))))
        (br_if $values (i32.lt_u (local.get $o) (local.get $end))))))

;; out[i] = src[i] * f(x[i]) for i in [0, n), f = 1 where x > 0, alpha where x <= 0, NaN where x is
;; NaN: LeakyReLU (src = x) and its gradient (src = dy) in one pass, bit for bit what ../leaky-relu.ts's
;; factor form step(x) * (1 - alpha) + alpha gives for an alpha it accepts (that factor is exactly 1
;; or alpha, and tfjs-backend-wasm's Step gives NaN for NaN).
  (func (export "leakyMul")
    (param $src i32) (param $x i32) (param $n i32) (param $alpha f32) (param $out i32)
    (local $o i32) (local $end i32) (local $xv v128) (local $va v128) (local $one v128) (local $nan v128)
    (local $zero v128) (local $xs f32)
    (local.set $va (f32x4.splat (local.get $alpha)))
    (local.set $one (f32x4.splat (f32.const 1)))
    (local.set $nan (f32x4.splat (f32.const nan)))
    (local.set $zero (v128.const i32x4 0 0 0 0))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $o (i32.const 0))
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.ge_u (local.get $o) (local.get $end)))
        (local.set $xv (v128.load (i32.add (local.get $x) (local.get $o))))
        (v128.store (i32.add (local.get $out) (local.get $o))
          (f32x4.mul (v128.load (i32.add (local.get $src) (local.get $o)))
            (v128.bitselect (local.get $one)
              (v128.bitselect (local.get $va) (local.get $nan) (f32x4.le (local.get $xv) (local.get $zero)))
              (f32x4.gt (local.get $xv) (local.get $zero)))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $vec)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $oneDone
      (loop $one
        (br_if $oneDone (i32.ge_u (local.get $o) (local.get $end)))
        (local.set $xs (f32.load (i32.add (local.get $x) (local.get $o))))
        (f32.store (i32.add (local.get $out) (local.get $o))
          (f32.mul (f32.load (i32.add (local.get $src) (local.get $o)))
            (select (f32.const 1)
              (select (local.get $alpha) (f32.const nan) (f32.le (local.get $xs) (f32.const 0)))
              (f32.gt (local.get $xs) (f32.const 0)))))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $one))))
;; The input gradient's sub-pixel result Z [n, zh, zw, zc] interleaved into dx [n, h, w, ci]
;; (../conv2d-backprop-input.ts, bySubPixel): dx pixel (img, ih, iw) is ci floats of Z's pixel
;; (img, (ih + padTop) / sh, (iw + padLeft) / sw) from channel ((ih + padTop) % sh * sw + (iw + padLeft) % sw) * ci;
;; the rows and columns of Z past dx are dropped (the crop). Copied as 32-bit words: the same bits.
;; Needs padTop, padLeft >= 0 (the callers' geometry refuses negative padding, ../nhwc.ts) and Z
;; covering every pixel read: zh >= ceil((h + padTop) / sh), zw likewise, zc >= sh * sw * ci.
  (func (export "interleavePhases")
    (param $z i32) (param $zh i32) (param $zw i32) (param $zc i32)
    (param $dx i32) (param $n i32) (param $h i32) (param $w i32) (param $ci i32)
    (param $sh i32) (param $sw i32) (param $padTop i32) (param $padLeft i32)
    (local $img i32) (local $ih i32) (local $iw i32) (local $t i32) (local $row i32)
    (local $qw i32) (local $rw i32) (local $src i32) (local $c i32) (local $bytes i32)
    (local $zPixel i32) (local $qw0 i32) (local $rw0 i32)
    (local.set $bytes (i32.shl (local.get $ci) (i32.const 2)))
    (local.set $zPixel (i32.shl (local.get $zc) (i32.const 2)))
    (local.set $qw0 (i32.div_u (local.get $padLeft) (local.get $sw)))
    (local.set $rw0 (i32.rem_u (local.get $padLeft) (local.get $sw)))
    (local.set $img (i32.const 0))
    (block $imgsDone
      (loop $imgs
        (br_if $imgsDone (i32.ge_u (local.get $img) (local.get $n)))
        (local.set $ih (i32.const 0))
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.ge_u (local.get $ih) (local.get $h)))
            (local.set $t (i32.add (local.get $ih) (local.get $padTop)))
            ;; Z's row (img, t / sh), at the channels of row phase t % sh
            (local.set $row (i32.add (local.get $z)
              (i32.add
                (i32.mul (i32.mul (i32.add (i32.mul (local.get $img) (local.get $zh)) (i32.div_u (local.get $t) (local.get $sh))) (local.get $zw)) (local.get $zPixel))
                (i32.mul (i32.mul (i32.rem_u (local.get $t) (local.get $sh)) (local.get $sw)) (local.get $bytes)))))
            (local.set $qw (local.get $qw0))
            (local.set $rw (local.get $rw0))
            (local.set $iw (i32.const 0))
            (block $colsDone
              (loop $cols
                (br_if $colsDone (i32.ge_u (local.get $iw) (local.get $w)))
                (local.set $src (i32.add (local.get $row)
                  (i32.add (i32.mul (local.get $qw) (local.get $zPixel)) (i32.mul (local.get $rw) (local.get $bytes)))))
                (local.set $c (i32.const 0))
                (block $copied
                  (loop $copy
                    (br_if $copied (i32.ge_u (local.get $c) (local.get $bytes)))
                    (i32.store (i32.add (local.get $dx) (local.get $c)) (i32.load (i32.add (local.get $src) (local.get $c))))
                    (local.set $c (i32.add (local.get $c) (i32.const 4)))
                    (br $copy)))
                (local.set $dx (i32.add (local.get $dx) (local.get $bytes)))
                (local.set $rw (i32.add (local.get $rw) (i32.const 1)))
                (if (i32.eq (local.get $rw) (local.get $sw))
                  (then (local.set $rw (i32.const 0)) (local.set $qw (i32.add (local.get $qw) (i32.const 1)))))
                (local.set $iw (i32.add (local.get $iw) (i32.const 1)))
                (br $cols)))
            (local.set $ih (i32.add (local.get $ih) (i32.const 1)))
            (br $rows)))
        (local.set $img (i32.add (local.get $img) (i32.const 1)))
        (br $imgs)))
  )
;; Winograd F(2x2, 2x2) for the forward pass of a 4x4 convolution of stride 2 (../winograd.ts):
;; split by stride phase (p, q) the filter is a 2x2 filter over 4 * Ci channels c' = (p * 2 + q) * Ci + ci,
;; and an output tile of 2x2 pixels (ti, tj) reads the 6x6 pixels of the padded x from row 4 ti and
;; column 4 tj, d[r][s] = xPad[4 ti + 2r + p][4 tj + 2s + q] per phase. With
;;   B^T = [1 -1 0; 0 1 0; 0 -1 1],  G = [1 0; 1 1; 0 1],  A^T = [1 1 0; 0 1 1]
;; (every entry 0 or +-1: no rounding but the sums'), U = B^T d B and V = G g G^T are 3x3, and
;; y = A^T (sum over c' of U . V) A: nine GEMMs M_xi = U_xi V_xi (xi = 3r + s) of a quarter of the
;; direct pass's rows by its filter rows, 9/16 of its multiply-adds.
;;
;; winoInput: U_xi [tiles, 4 Ci] for the tiles of `images` images of x (tile t = (image, ti, tj) in that
;; order, th x tw tiles an image), U_xi's row t at u + xi * xiBytes + t * 16 * Ci; Ci a multiple of 4;
;; x padded so that every tile's 6x6 pixels are inside it (rows 2 OH + 2, columns 2 OW + 2), imgBytes
;; and rowBytes apart.
  (func (export "winoInput")
    (param $x i32) (param $imgBytes i32) (param $rowBytes i32) (param $ci i32) (param $th i32) (param $tw i32)
    (param $images i32) (param $u i32) (param $xiBytes i32)
    (local $t i32) (local $tEnd i32) (local $per i32) (local $rem i32) (local $cBytes i32) (local $tileBytes i32)
    (local $col2 i32) (local $col4 i32) (local $row2 i32) (local $tile i32) (local $pq i32)
    (local $src i32) (local $dst i32) (local $c i32) (local $a i32) (local $o i32)
    (local $d10 v128) (local $d11 v128) (local $d12 v128) (local $e0 v128) (local $e1 v128) (local $e2 v128)
    (local.set $cBytes (i32.shl (local.get $ci) (i32.const 2)))
    (local.set $tileBytes (i32.shl (local.get $cBytes) (i32.const 2)))
    (local.set $col2 (i32.shl (local.get $cBytes) (i32.const 1)))
    (local.set $col4 (i32.shl (local.get $cBytes) (i32.const 2)))
    (local.set $row2 (i32.shl (local.get $rowBytes) (i32.const 1)))
    (local.set $per (i32.mul (local.get $th) (local.get $tw)))
    (local.set $t (i32.const 0))
    (local.set $tEnd (i32.mul (local.get $images) (local.get $per)))
    (block $done
      (loop $tiles
        (br_if $done (i32.ge_u (local.get $t) (local.get $tEnd)))
        (local.set $rem (i32.rem_u (local.get $t) (local.get $per)))
        (local.set $tile (i32.add (local.get $x)
          (i32.add (i32.mul (i32.div_u (local.get $t) (local.get $per)) (local.get $imgBytes))
            (i32.add (i32.mul (i32.shl (i32.div_u (local.get $rem) (local.get $tw)) (i32.const 2)) (local.get $rowBytes))
              (i32.mul (i32.shl (i32.rem_u (local.get $rem) (local.get $tw)) (i32.const 2)) (local.get $cBytes))))))
        (local.set $pq (i32.const 0))
        (loop $phases
          ;; phase (p, q) = (pq >> 1, pq & 1): its first pixel, and its channels' place in U's rows
          (local.set $src (i32.add (local.get $tile)
            (i32.add (i32.mul (i32.shr_u (local.get $pq) (i32.const 1)) (local.get $rowBytes))
              (i32.mul (i32.and (local.get $pq) (i32.const 1)) (local.get $cBytes)))))
          (local.set $dst (i32.add (i32.add (local.get $u) (i32.mul (local.get $t) (local.get $tileBytes)))
            (i32.mul (local.get $pq) (local.get $cBytes))))
          (local.set $c (i32.const 0))
          (loop $channels
            ;; row 1 of d (kept), then rows 0 and 2 against it
            (local.set $a (i32.add (i32.add (local.get $src) (local.get $c)) (local.get $row2)))
            (local.set $d10 (v128.load (local.get $a)))
            (local.set $d11 (v128.load (i32.add (local.get $a) (local.get $col2))))
            (local.set $d12 (v128.load (i32.add (local.get $a) (local.get $col4))))
            (local.set $o (i32.add (local.get $dst) (local.get $c)))
            ;; r = 0: e = d0 - d1
            (local.set $a (i32.add (local.get $src) (local.get $c)))
            (local.set $e0 (f32x4.sub (v128.load (local.get $a)) (local.get $d10)))
            (local.set $e1 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $col2))) (local.get $d11)))
            (local.set $e2 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $col4))) (local.get $d12)))
            (v128.store (local.get $o) (f32x4.sub (local.get $e0) (local.get $e1)))
            (local.set $o (i32.add (local.get $o) (local.get $xiBytes)))
            (v128.store (local.get $o) (local.get $e1))
            (local.set $o (i32.add (local.get $o) (local.get $xiBytes)))
            (v128.store (local.get $o) (f32x4.sub (local.get $e2) (local.get $e1)))
            (local.set $o (i32.add (local.get $o) (local.get $xiBytes)))
            ;; r = 1: e = d1
            (v128.store (local.get $o) (f32x4.sub (local.get $d10) (local.get $d11)))
            (local.set $o (i32.add (local.get $o) (local.get $xiBytes)))
            (v128.store (local.get $o) (local.get $d11))
            (local.set $o (i32.add (local.get $o) (local.get $xiBytes)))
            (v128.store (local.get $o) (f32x4.sub (local.get $d12) (local.get $d11)))
            (local.set $o (i32.add (local.get $o) (local.get $xiBytes)))
            ;; r = 2: e = d2 - d1
            (local.set $a (i32.add (i32.add (local.get $src) (local.get $c)) (i32.shl (local.get $row2) (i32.const 1))))
            (local.set $e0 (f32x4.sub (v128.load (local.get $a)) (local.get $d10)))
            (local.set $e1 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $col2))) (local.get $d11)))
            (local.set $e2 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $col4))) (local.get $d12)))
            (v128.store (local.get $o) (f32x4.sub (local.get $e0) (local.get $e1)))
            (local.set $o (i32.add (local.get $o) (local.get $xiBytes)))
            (v128.store (local.get $o) (local.get $e1))
            (local.set $o (i32.add (local.get $o) (local.get $xiBytes)))
            (v128.store (local.get $o) (f32x4.sub (local.get $e2) (local.get $e1)))
            (local.set $c (i32.add (local.get $c) (i32.const 16)))
            (br_if $channels (i32.lt_u (local.get $c) (local.get $cBytes))))
          (local.set $pq (i32.add (local.get $pq) (i32.const 1)))
          (br_if $phases (i32.lt_u (local.get $pq) (i32.const 4))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $tiles))))
;; winoFilter: V_xi = G g G^T [4 Ci, Co] for the first `count` channels ci of w [4, 4, Ci, Co] (a
;; slice of channels: w moved on by 4 Co bytes and v by 64 per channel), written in panels of 16
;; columns as gatherGemm reads b with bPanelRows = 4 Ci: V_xi's row c', columns o .. o + 3 at
;; v + xi * xiBytes + (o / 16) * 4 Ci * 64 + c' * 64 + (o % 16) * 4. Co a multiple of 16.
  (func (export "winoFilter")
    (param $w i32) (param $ci i32) (param $co i32) (param $count i32) (param $v i32) (param $xiBytes i32)
    (local $c i32) (local $cEnd i32) (local $pq i32) (local $o i32) (local $coBytes i32) (local $kwBytes i32) (local $khBytes i32)
    (local $src i32) (local $dst i32) (local $panelBytes i32) (local $a i32)
    (local $g00 v128) (local $g01 v128) (local $g10 v128) (local $g11 v128) (local $t v128)
    (local.set $coBytes (i32.shl (local.get $co) (i32.const 2)))
    (local.set $kwBytes (i32.mul (local.get $ci) (local.get $coBytes)))
    (local.set $khBytes (i32.shl (local.get $kwBytes) (i32.const 2)))
    (local.set $panelBytes (i32.shl (local.get $ci) (i32.const 8)))
    (local.set $c (i32.const 0))
    (local.set $cEnd (local.get $count))
    (block $done
      (loop $channels
        (br_if $done (i32.ge_u (local.get $c) (local.get $cEnd)))
        (local.set $pq (i32.const 0))
        (loop $phases
          ;; g[a][b] = w[2a + p][2b + q][c]: from filter row (p, q), then two rows and two columns on
          (local.set $src (i32.add (local.get $w)
            (i32.add (i32.mul (i32.shr_u (local.get $pq) (i32.const 1)) (local.get $khBytes))
              (i32.add (i32.mul (i32.and (local.get $pq) (i32.const 1)) (local.get $kwBytes))
                (i32.mul (local.get $c) (local.get $coBytes))))))
          (local.set $dst (i32.add (local.get $v)
            (i32.shl (i32.add (i32.mul (local.get $pq) (local.get $ci)) (local.get $c)) (i32.const 6))))
          (local.set $o (i32.const 0))
          (loop $outs
            (local.set $a (i32.add (local.get $src) (local.get $o)))
            (local.set $g00 (v128.load (local.get $a)))
            (local.set $g01 (v128.load (i32.add (local.get $a) (i32.shl (local.get $kwBytes) (i32.const 1)))))
            (local.set $a (i32.add (local.get $a) (i32.shl (local.get $khBytes) (i32.const 1))))
            (local.set $g10 (v128.load (local.get $a)))
            (local.set $g11 (v128.load (i32.add (local.get $a) (i32.shl (local.get $kwBytes) (i32.const 1)))))
            ;; column o of panel o / 16
            (local.set $a (i32.add (local.get $dst)
              (i32.add (i32.mul (i32.shr_u (local.get $o) (i32.const 6)) (local.get $panelBytes)) (i32.and (local.get $o) (i32.const 63)))))
            (v128.store (local.get $a) (local.get $g00))
            (local.set $a (i32.add (local.get $a) (local.get $xiBytes)))
            (v128.store (local.get $a) (f32x4.add (local.get $g00) (local.get $g01)))
            (local.set $a (i32.add (local.get $a) (local.get $xiBytes)))
            (v128.store (local.get $a) (local.get $g01))
            (local.set $a (i32.add (local.get $a) (local.get $xiBytes)))
            (local.set $t (f32x4.add (local.get $g00) (local.get $g10)))
            (v128.store (local.get $a) (local.get $t))
            (local.set $a (i32.add (local.get $a) (local.get $xiBytes)))
            (v128.store (local.get $a) (f32x4.add (local.get $t) (f32x4.add (local.get $g01) (local.get $g11))))
            (local.set $a (i32.add (local.get $a) (local.get $xiBytes)))
            (v128.store (local.get $a) (f32x4.add (local.get $g01) (local.get $g11)))
            (local.set $a (i32.add (local.get $a) (local.get $xiBytes)))
            (v128.store (local.get $a) (local.get $g10))
            (local.set $a (i32.add (local.get $a) (local.get $xiBytes)))
            (v128.store (local.get $a) (f32x4.add (local.get $g10) (local.get $g11)))
            (local.set $a (i32.add (local.get $a) (local.get $xiBytes)))
            (v128.store (local.get $a) (local.get $g11))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (br_if $outs (i32.lt_u (local.get $o) (local.get $coBytes))))
          (local.set $pq (i32.add (local.get $pq) (i32.const 1)))
          (br_if $phases (i32.lt_u (local.get $pq) (i32.const 4))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $channels))))
;; winoOutput: y's 2x2 pixels of every tile of `images` images = A^T M A from M_xi [tiles, Co] (row t
;; of M_xi at m + xi * xiBytes + t * 4 Co), plus bias [Co] where bias is not 0; y [images, 2 th, OW,
;; Co]; Co a multiple of 4. The sums in a fixed order: the same bits whatever the slices.
  (func (export "winoOutput")
    (param $m i32) (param $xiBytes i32) (param $co i32) (param $th i32) (param $tw i32) (param $ow i32)
    (param $images i32) (param $y i32) (param $bias i32)
    (local $t i32) (local $tEnd i32) (local $per i32) (local $rem i32) (local $coBytes i32) (local $rowBytes i32)
    (local $src i32) (local $dst i32) (local $o i32) (local $a i32) (local $xi3 i32) (local $xi6 i32)
    (local $m0 v128) (local $m1 v128) (local $m2 v128) (local $s00 v128) (local $s01 v128) (local $s02 v128)
    (local $s10 v128) (local $s11 v128) (local $s12 v128) (local $b v128)
    (local.set $coBytes (i32.shl (local.get $co) (i32.const 2)))
    (local.set $rowBytes (i32.mul (local.get $ow) (local.get $coBytes)))
    (local.set $xi3 (i32.mul (local.get $xiBytes) (i32.const 3)))
    (local.set $xi6 (i32.shl (local.get $xi3) (i32.const 1)))
    (local.set $per (i32.mul (local.get $th) (local.get $tw)))
    (local.set $b (v128.const i32x4 0 0 0 0))
    (local.set $t (i32.const 0))
    (local.set $tEnd (i32.mul (local.get $images) (local.get $per)))
    (block $done
      (loop $tiles
        (br_if $done (i32.ge_u (local.get $t) (local.get $tEnd)))
        (local.set $rem (i32.rem_u (local.get $t) (local.get $per)))
        ;; pixel (image, 2 ti, 2 tj): image * 2 th rows of OW pixels, then 2 ti rows, then 2 tj pixels
        (local.set $dst (i32.add (local.get $y)
          (i32.add
            (i32.mul (i32.add (i32.mul (i32.div_u (local.get $t) (local.get $per)) (i32.shl (local.get $th) (i32.const 1)))
              (i32.shl (i32.div_u (local.get $rem) (local.get $tw)) (i32.const 1))) (local.get $rowBytes))
            (i32.mul (i32.shl (i32.rem_u (local.get $rem) (local.get $tw)) (i32.const 1)) (local.get $coBytes)))))
        (local.set $src (i32.add (local.get $m) (i32.mul (local.get $t) (local.get $coBytes))))
        (local.set $o (i32.const 0))
        (loop $outs
          (local.set $a (i32.add (local.get $src) (local.get $o)))
          ;; column s of M: rows r = 0, 1, 2 are xi = s, 3 + s, 6 + s; s_i = m_i + m_(i+1) down it
          (local.set $m0 (v128.load (local.get $a)))
          (local.set $m1 (v128.load (i32.add (local.get $a) (local.get $xi3))))
          (local.set $m2 (v128.load (i32.add (local.get $a) (local.get $xi6))))
          (local.set $s00 (f32x4.add (local.get $m0) (local.get $m1)))
          (local.set $s10 (f32x4.add (local.get $m1) (local.get $m2)))
          (local.set $a (i32.add (local.get $a) (local.get $xiBytes)))
          (local.set $m0 (v128.load (local.get $a)))
          (local.set $m1 (v128.load (i32.add (local.get $a) (local.get $xi3))))
          (local.set $m2 (v128.load (i32.add (local.get $a) (local.get $xi6))))
          (local.set $s01 (f32x4.add (local.get $m0) (local.get $m1)))
          (local.set $s11 (f32x4.add (local.get $m1) (local.get $m2)))
          (local.set $a (i32.add (local.get $a) (local.get $xiBytes)))
          (local.set $m0 (v128.load (local.get $a)))
          (local.set $m1 (v128.load (i32.add (local.get $a) (local.get $xi3))))
          (local.set $m2 (v128.load (i32.add (local.get $a) (local.get $xi6))))
          (local.set $s02 (f32x4.add (local.get $m0) (local.get $m1)))
          (local.set $s12 (f32x4.add (local.get $m1) (local.get $m2)))
          (if (local.get $bias) (then (local.set $b (v128.load (i32.add (local.get $bias) (local.get $o))))))
          (local.set $a (i32.add (local.get $dst) (local.get $o)))
          (v128.store (local.get $a) (f32x4.add (f32x4.add (local.get $s00) (local.get $s01)) (local.get $b)))
          (v128.store (i32.add (local.get $a) (local.get $coBytes)) (f32x4.add (f32x4.add (local.get $s01) (local.get $s02)) (local.get $b)))
          (local.set $a (i32.add (local.get $a) (local.get $rowBytes)))
          (v128.store (local.get $a) (f32x4.add (f32x4.add (local.get $s10) (local.get $s11)) (local.get $b)))
          (v128.store (i32.add (local.get $a) (local.get $coBytes)) (f32x4.add (f32x4.add (local.get $s11) (local.get $s12)) (local.get $b)))
          (local.set $o (i32.add (local.get $o) (i32.const 16)))
          (br_if $outs (i32.lt_u (local.get $o) (local.get $coBytes))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $tiles))))
;; winoInputT: winoInput's U, transposed for the filter gradient's GEMMs: U_xi^T [4 Ci, rows] (row c' of
;; U_xi^T at u + xi * xiBytes + c' * 4 rows, tile t at 4 t of it), for `groups` groups of four tiles
;; from tile t0 (tiles past the last, `tiles` - 1, repeat it: rows is a multiple of 4 at least
;; `tiles`). Each group's four tiles are transformed four channels at a time and their values
;; transposed in registers (a 4 x 4 block of tiles by channels), so that every store is a whole vec4.
  (func (export "winoInputT")
    (param $x i32) (param $imgBytes i32) (param $rowBytes i32) (param $ci i32) (param $th i32) (param $tw i32)
    (param $t0 i32) (param $groups i32) (param $tiles i32) (param $u i32) (param $xiBytes i32) (param $rows i32)
    (local $g i32) (local $t i32) (local $k i32) (local $per i32) (local $rem i32) (local $cBytes i32)
    (local $col2 i32) (local $col4 i32) (local $row2 i32) (local $row4 i32) (local $pq i32) (local $c i32)
    (local $tRowBytes i32) (local $dst i32) (local $a i32)
    (local $b0 i32) (local $b1 i32) (local $b2 i32) (local $b3 i32)
    (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $s3 i32)
    (local $d00 v128) (local $d01 v128) (local $d02 v128) (local $e00 v128) (local $e01 v128) (local $e02 v128)
    (local $d10 v128) (local $d11 v128) (local $d12 v128) (local $e10 v128) (local $e11 v128) (local $e12 v128)
    (local $d20 v128) (local $d21 v128) (local $d22 v128) (local $e20 v128) (local $e21 v128) (local $e22 v128)
    (local $d30 v128) (local $d31 v128) (local $d32 v128) (local $e30 v128) (local $e31 v128) (local $e32 v128)
    (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128) (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128)
    (local.set $cBytes (i32.shl (local.get $ci) (i32.const 2)))
    (local.set $col2 (i32.shl (local.get $cBytes) (i32.const 1)))
    (local.set $col4 (i32.shl (local.get $cBytes) (i32.const 2)))
    (local.set $row2 (i32.shl (local.get $rowBytes) (i32.const 1)))
    (local.set $row4 (i32.shl (local.get $rowBytes) (i32.const 2)))
    (local.set $tRowBytes (i32.shl (local.get $rows) (i32.const 2)))
    (local.set $per (i32.mul (local.get $th) (local.get $tw)))
    (local.set $g (i32.const 0))
    (block $done
      (loop $groupsLoop
        (br_if $done (i32.ge_u (local.get $g) (local.get $groups)))
        (local.set $t (i32.add (local.get $t0) (i32.shl (local.get $g) (i32.const 2))))
        ;; tile 0 of the group (the last tile where it is past the end): its first pixel
        (local.set $k (i32.add (local.get $t) (i32.const 0)))
        (if (i32.ge_u (local.get $k) (local.get $tiles)) (then (local.set $k (i32.sub (local.get $tiles) (i32.const 1)))))
        (local.set $rem (i32.rem_u (local.get $k) (local.get $per)))
        (local.set $b0 (i32.add (local.get $x)
          (i32.add (i32.mul (i32.div_u (local.get $k) (local.get $per)) (local.get $imgBytes))
            (i32.add (i32.mul (i32.shl (i32.div_u (local.get $rem) (local.get $tw)) (i32.const 2)) (local.get $rowBytes))
              (i32.mul (i32.shl (i32.rem_u (local.get $rem) (local.get $tw)) (i32.const 2)) (local.get $cBytes))))))
        ;; tile 1 of the group (the last tile where it is past the end): its first pixel
        (local.set $k (i32.add (local.get $t) (i32.const 1)))
        (if (i32.ge_u (local.get $k) (local.get $tiles)) (then (local.set $k (i32.sub (local.get $tiles) (i32.const 1)))))
        (local.set $rem (i32.rem_u (local.get $k) (local.get $per)))
        (local.set $b1 (i32.add (local.get $x)
          (i32.add (i32.mul (i32.div_u (local.get $k) (local.get $per)) (local.get $imgBytes))
            (i32.add (i32.mul (i32.shl (i32.div_u (local.get $rem) (local.get $tw)) (i32.const 2)) (local.get $rowBytes))
              (i32.mul (i32.shl (i32.rem_u (local.get $rem) (local.get $tw)) (i32.const 2)) (local.get $cBytes))))))
        ;; tile 2 of the group (the last tile where it is past the end): its first pixel
        (local.set $k (i32.add (local.get $t) (i32.const 2)))
        (if (i32.ge_u (local.get $k) (local.get $tiles)) (then (local.set $k (i32.sub (local.get $tiles) (i32.const 1)))))
        (local.set $rem (i32.rem_u (local.get $k) (local.get $per)))
        (local.set $b2 (i32.add (local.get $x)
          (i32.add (i32.mul (i32.div_u (local.get $k) (local.get $per)) (local.get $imgBytes))
            (i32.add (i32.mul (i32.shl (i32.div_u (local.get $rem) (local.get $tw)) (i32.const 2)) (local.get $rowBytes))
              (i32.mul (i32.shl (i32.rem_u (local.get $rem) (local.get $tw)) (i32.const 2)) (local.get $cBytes))))))
        ;; tile 3 of the group (the last tile where it is past the end): its first pixel
        (local.set $k (i32.add (local.get $t) (i32.const 3)))
        (if (i32.ge_u (local.get $k) (local.get $tiles)) (then (local.set $k (i32.sub (local.get $tiles) (i32.const 1)))))
        (local.set $rem (i32.rem_u (local.get $k) (local.get $per)))
        (local.set $b3 (i32.add (local.get $x)
          (i32.add (i32.mul (i32.div_u (local.get $k) (local.get $per)) (local.get $imgBytes))
            (i32.add (i32.mul (i32.shl (i32.div_u (local.get $rem) (local.get $tw)) (i32.const 2)) (local.get $rowBytes))
              (i32.mul (i32.shl (i32.rem_u (local.get $rem) (local.get $tw)) (i32.const 2)) (local.get $cBytes))))))
        (local.set $pq (i32.const 0))
        (loop $phases
          ;; phase (p, q)'s first pixel in each tile
          (local.set $a (i32.add (i32.mul (i32.shr_u (local.get $pq) (i32.const 1)) (local.get $rowBytes))
            (i32.mul (i32.and (local.get $pq) (i32.const 1)) (local.get $cBytes))))
          (local.set $s0 (i32.add (local.get $b0) (local.get $a)))
          (local.set $s1 (i32.add (local.get $b1) (local.get $a)))
          (local.set $s2 (i32.add (local.get $b2) (local.get $a)))
          (local.set $s3 (i32.add (local.get $b3) (local.get $a)))
          (local.set $c (i32.const 0))
          (loop $channels
            ;; d's row 1 of each tile (kept through the three rows of U)
            (local.set $a (i32.add (i32.add (local.get $s0) (i32.shl (local.get $c) (i32.const 2))) (local.get $row2)))
            (local.set $d00 (v128.load (local.get $a)))
            (local.set $d01 (v128.load (i32.add (local.get $a) (local.get $col2))))
            (local.set $d02 (v128.load (i32.add (local.get $a) (local.get $col4))))
            (local.set $a (i32.add (i32.add (local.get $s1) (i32.shl (local.get $c) (i32.const 2))) (local.get $row2)))
            (local.set $d10 (v128.load (local.get $a)))
            (local.set $d11 (v128.load (i32.add (local.get $a) (local.get $col2))))
            (local.set $d12 (v128.load (i32.add (local.get $a) (local.get $col4))))
            (local.set $a (i32.add (i32.add (local.get $s2) (i32.shl (local.get $c) (i32.const 2))) (local.get $row2)))
            (local.set $d20 (v128.load (local.get $a)))
            (local.set $d21 (v128.load (i32.add (local.get $a) (local.get $col2))))
            (local.set $d22 (v128.load (i32.add (local.get $a) (local.get $col4))))
            (local.set $a (i32.add (i32.add (local.get $s3) (i32.shl (local.get $c) (i32.const 2))) (local.get $row2)))
            (local.set $d30 (v128.load (local.get $a)))
            (local.set $d31 (v128.load (i32.add (local.get $a) (local.get $col2))))
            (local.set $d32 (v128.load (i32.add (local.get $a) (local.get $col4))))
            ;; U_xi^T's rows c' = (p * 2 + q) * Ci + c .. + 3, columns t .. t + 3
            (local.set $dst (i32.add (i32.add (local.get $u) (i32.shl (local.get $t) (i32.const 2)))
              (i32.mul (i32.add (i32.mul (local.get $pq) (local.get $ci)) (local.get $c)) (local.get $tRowBytes))))
            ;; U row 0: e = d0 - d1
            (local.set $a (i32.add (i32.add (local.get $s0) (i32.shl (local.get $c) (i32.const 2))) (i32.const 0)))
            (local.set $e00 (f32x4.sub (v128.load (local.get $a)) (local.get $d00)))
            (local.set $e01 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $col2))) (local.get $d01)))
            (local.set $e02 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $col4))) (local.get $d02)))
            (local.set $a (i32.add (i32.add (local.get $s1) (i32.shl (local.get $c) (i32.const 2))) (i32.const 0)))
            (local.set $e10 (f32x4.sub (v128.load (local.get $a)) (local.get $d10)))
            (local.set $e11 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $col2))) (local.get $d11)))
            (local.set $e12 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $col4))) (local.get $d12)))
            (local.set $a (i32.add (i32.add (local.get $s2) (i32.shl (local.get $c) (i32.const 2))) (i32.const 0)))
            (local.set $e20 (f32x4.sub (v128.load (local.get $a)) (local.get $d20)))
            (local.set $e21 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $col2))) (local.get $d21)))
            (local.set $e22 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $col4))) (local.get $d22)))
            (local.set $a (i32.add (i32.add (local.get $s3) (i32.shl (local.get $c) (i32.const 2))) (i32.const 0)))
            (local.set $e30 (f32x4.sub (v128.load (local.get $a)) (local.get $d30)))
            (local.set $e31 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $col2))) (local.get $d31)))
            (local.set $e32 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $col4))) (local.get $d32)))
            ;; xi = 0: e0 - e1
            (local.set $w0 (f32x4.sub (local.get $e00) (local.get $e01)))
            (local.set $w1 (f32x4.sub (local.get $e10) (local.get $e11)))
            (local.set $w2 (f32x4.sub (local.get $e20) (local.get $e21)))
            (local.set $w3 (f32x4.sub (local.get $e30) (local.get $e31)))
            (local.set $q0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $w0) (local.get $w1)))
            (local.set $q1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $w0) (local.get $w1)))
            (local.set $q2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $w2) (local.get $w3)))
            (local.set $q3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $w2) (local.get $w3)))
            (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $q0) (local.get $q2)))
            (v128.store (i32.add (local.get $dst) (local.get $tRowBytes)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $q0) (local.get $q2)))
            (v128.store (i32.add (local.get $dst) (i32.shl (local.get $tRowBytes) (i32.const 1))) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $q1) (local.get $q3)))
            (v128.store (i32.add (local.get $dst) (i32.mul (local.get $tRowBytes) (i32.const 3))) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $q1) (local.get $q3)))
            (local.set $dst (i32.add (local.get $dst) (local.get $xiBytes)))
            ;; xi = 1: e1
            (local.set $w0 (local.get $e01))
            (local.set $w1 (local.get $e11))
            (local.set $w2 (local.get $e21))
            (local.set $w3 (local.get $e31))
            (local.set $q0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $w0) (local.get $w1)))
            (local.set $q1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $w0) (local.get $w1)))
            (local.set $q2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $w2) (local.get $w3)))
            (local.set $q3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $w2) (local.get $w3)))
            (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $q0) (local.get $q2)))
            (v128.store (i32.add (local.get $dst) (local.get $tRowBytes)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $q0) (local.get $q2)))
            (v128.store (i32.add (local.get $dst) (i32.shl (local.get $tRowBytes) (i32.const 1))) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $q1) (local.get $q3)))
            (v128.store (i32.add (local.get $dst) (i32.mul (local.get $tRowBytes) (i32.const 3))) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $q1) (local.get $q3)))
            (local.set $dst (i32.add (local.get $dst) (local.get $xiBytes)))
            ;; xi = 2: e2 - e1
            (local.set $w0 (f32x4.sub (local.get $e02) (local.get $e01)))
            (local.set $w1 (f32x4.sub (local.get $e12) (local.get $e11)))
            (local.set $w2 (f32x4.sub (local.get $e22) (local.get $e21)))
            (local.set $w3 (f32x4.sub (local.get $e32) (local.get $e31)))
            (local.set $q0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $w0) (local.get $w1)))
            (local.set $q1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $w0) (local.get $w1)))
            (local.set $q2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $w2) (local.get $w3)))
            (local.set $q3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $w2) (local.get $w3)))
            (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $q0) (local.get $q2)))
            (v128.store (i32.add (local.get $dst) (local.get $tRowBytes)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $q0) (local.get $q2)))
            (v128.store (i32.add (local.get $dst) (i32.shl (local.get $tRowBytes) (i32.const 1))) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $q1) (local.get $q3)))
            (v128.store (i32.add (local.get $dst) (i32.mul (local.get $tRowBytes) (i32.const 3))) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $q1) (local.get $q3)))
            (local.set $dst (i32.add (local.get $dst) (local.get $xiBytes)))
            (local.set $e00 (local.get $d00))
            (local.set $e01 (local.get $d01))
            (local.set $e02 (local.get $d02))
            (local.set $e10 (local.get $d10))
            (local.set $e11 (local.get $d11))
            (local.set $e12 (local.get $d12))
            (local.set $e20 (local.get $d20))
            (local.set $e21 (local.get $d21))
            (local.set $e22 (local.get $d22))
            (local.set $e30 (local.get $d30))
            (local.set $e31 (local.get $d31))
            (local.set $e32 (local.get $d32))
            ;; xi = 3: e0 - e1
            (local.set $w0 (f32x4.sub (local.get $e00) (local.get $e01)))
            (local.set $w1 (f32x4.sub (local.get $e10) (local.get $e11)))
            (local.set $w2 (f32x4.sub (local.get $e20) (local.get $e21)))
            (local.set $w3 (f32x4.sub (local.get $e30) (local.get $e31)))
            (local.set $q0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $w0) (local.get $w1)))
            (local.set $q1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $w0) (local.get $w1)))
            (local.set $q2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $w2) (local.get $w3)))
            (local.set $q3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $w2) (local.get $w3)))
            (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $q0) (local.get $q2)))
            (v128.store (i32.add (local.get $dst) (local.get $tRowBytes)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $q0) (local.get $q2)))
            (v128.store (i32.add (local.get $dst) (i32.shl (local.get $tRowBytes) (i32.const 1))) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $q1) (local.get $q3)))
            (v128.store (i32.add (local.get $dst) (i32.mul (local.get $tRowBytes) (i32.const 3))) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $q1) (local.get $q3)))
            (local.set $dst (i32.add (local.get $dst) (local.get $xiBytes)))
            ;; xi = 4: e1
            (local.set $w0 (local.get $e01))
            (local.set $w1 (local.get $e11))
            (local.set $w2 (local.get $e21))
            (local.set $w3 (local.get $e31))
            (local.set $q0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $w0) (local.get $w1)))
            (local.set $q1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $w0) (local.get $w1)))
            (local.set $q2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $w2) (local.get $w3)))
            (local.set $q3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $w2) (local.get $w3)))
            (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $q0) (local.get $q2)))
            (v128.store (i32.add (local.get $dst) (local.get $tRowBytes)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $q0) (local.get $q2)))
            (v128.store (i32.add (local.get $dst) (i32.shl (local.get $tRowBytes) (i32.const 1))) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $q1) (local.get $q3)))
            (v128.store (i32.add (local.get $dst) (i32.mul (local.get $tRowBytes) (i32.const 3))) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $q1) (local.get $q3)))
            (local.set $dst (i32.add (local.get $dst) (local.get $xiBytes)))
            ;; xi = 5: e2 - e1
            (local.set $w0 (f32x4.sub (local.get $e02) (local.get $e01)))
            (local.set $w1 (f32x4.sub (local.get $e12) (local.get $e11)))
            (local.set $w2 (f32x4.sub (local.get $e22) (local.get $e21)))
            (local.set $w3 (f32x4.sub (local.get $e32) (local.get $e31)))
            (local.set $q0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $w0) (local.get $w1)))
            (local.set $q1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $w0) (local.get $w1)))
            (local.set $q2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $w2) (local.get $w3)))
            (local.set $q3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $w2) (local.get $w3)))
            (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $q0) (local.get $q2)))
            (v128.store (i32.add (local.get $dst) (local.get $tRowBytes)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $q0) (local.get $q2)))
            (v128.store (i32.add (local.get $dst) (i32.shl (local.get $tRowBytes) (i32.const 1))) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $q1) (local.get $q3)))
            (v128.store (i32.add (local.get $dst) (i32.mul (local.get $tRowBytes) (i32.const 3))) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $q1) (local.get $q3)))
            (local.set $dst (i32.add (local.get $dst) (local.get $xiBytes)))
            ;; U row 2: e = d2 - d1
            (local.set $a (i32.add (i32.add (local.get $s0) (i32.shl (local.get $c) (i32.const 2))) (local.get $row4)))
            (local.set $e00 (f32x4.sub (v128.load (local.get $a)) (local.get $d00)))
            (local.set $e01 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $col2))) (local.get $d01)))
            (local.set $e02 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $col4))) (local.get $d02)))
            (local.set $a (i32.add (i32.add (local.get $s1) (i32.shl (local.get $c) (i32.const 2))) (local.get $row4)))
            (local.set $e10 (f32x4.sub (v128.load (local.get $a)) (local.get $d10)))
            (local.set $e11 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $col2))) (local.get $d11)))
            (local.set $e12 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $col4))) (local.get $d12)))
            (local.set $a (i32.add (i32.add (local.get $s2) (i32.shl (local.get $c) (i32.const 2))) (local.get $row4)))
            (local.set $e20 (f32x4.sub (v128.load (local.get $a)) (local.get $d20)))
            (local.set $e21 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $col2))) (local.get $d21)))
            (local.set $e22 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $col4))) (local.get $d22)))
            (local.set $a (i32.add (i32.add (local.get $s3) (i32.shl (local.get $c) (i32.const 2))) (local.get $row4)))
            (local.set $e30 (f32x4.sub (v128.load (local.get $a)) (local.get $d30)))
            (local.set $e31 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $col2))) (local.get $d31)))
            (local.set $e32 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $col4))) (local.get $d32)))
            ;; xi = 6: e0 - e1
            (local.set $w0 (f32x4.sub (local.get $e00) (local.get $e01)))
            (local.set $w1 (f32x4.sub (local.get $e10) (local.get $e11)))
            (local.set $w2 (f32x4.sub (local.get $e20) (local.get $e21)))
            (local.set $w3 (f32x4.sub (local.get $e30) (local.get $e31)))
            (local.set $q0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $w0) (local.get $w1)))
            (local.set $q1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $w0) (local.get $w1)))
            (local.set $q2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $w2) (local.get $w3)))
            (local.set $q3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $w2) (local.get $w3)))
            (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $q0) (local.get $q2)))
            (v128.store (i32.add (local.get $dst) (local.get $tRowBytes)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $q0) (local.get $q2)))
            (v128.store (i32.add (local.get $dst) (i32.shl (local.get $tRowBytes) (i32.const 1))) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $q1) (local.get $q3)))
            (v128.store (i32.add (local.get $dst) (i32.mul (local.get $tRowBytes) (i32.const 3))) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $q1) (local.get $q3)))
            (local.set $dst (i32.add (local.get $dst) (local.get $xiBytes)))
            ;; xi = 7: e1
            (local.set $w0 (local.get $e01))
            (local.set $w1 (local.get $e11))
            (local.set $w2 (local.get $e21))
            (local.set $w3 (local.get $e31))
            (local.set $q0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $w0) (local.get $w1)))
            (local.set $q1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $w0) (local.get $w1)))
            (local.set $q2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $w2) (local.get $w3)))
            (local.set $q3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $w2) (local.get $w3)))
            (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $q0) (local.get $q2)))
            (v128.store (i32.add (local.get $dst) (local.get $tRowBytes)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $q0) (local.get $q2)))
            (v128.store (i32.add (local.get $dst) (i32.shl (local.get $tRowBytes) (i32.const 1))) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $q1) (local.get $q3)))
            (v128.store (i32.add (local.get $dst) (i32.mul (local.get $tRowBytes) (i32.const 3))) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $q1) (local.get $q3)))
            (local.set $dst (i32.add (local.get $dst) (local.get $xiBytes)))
            ;; xi = 8: e2 - e1
            (local.set $w0 (f32x4.sub (local.get $e02) (local.get $e01)))
            (local.set $w1 (f32x4.sub (local.get $e12) (local.get $e11)))
            (local.set $w2 (f32x4.sub (local.get $e22) (local.get $e21)))
            (local.set $w3 (f32x4.sub (local.get $e32) (local.get $e31)))
            (local.set $q0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $w0) (local.get $w1)))
            (local.set $q1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $w0) (local.get $w1)))
            (local.set $q2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $w2) (local.get $w3)))
            (local.set $q3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $w2) (local.get $w3)))
            (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $q0) (local.get $q2)))
            (v128.store (i32.add (local.get $dst) (local.get $tRowBytes)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $q0) (local.get $q2)))
            (v128.store (i32.add (local.get $dst) (i32.shl (local.get $tRowBytes) (i32.const 1))) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $q1) (local.get $q3)))
            (v128.store (i32.add (local.get $dst) (i32.mul (local.get $tRowBytes) (i32.const 3))) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $q1) (local.get $q3)))
            (local.set $dst (i32.add (local.get $dst) (local.get $xiBytes)))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br_if $channels (i32.lt_u (local.get $c) (local.get $ci))))
          (local.set $pq (i32.add (local.get $pq) (i32.const 1)))
          (br_if $phases (i32.lt_u (local.get $pq) (i32.const 4))))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (br $groupsLoop))))

;; The filter gradient by F(2x2, 2x2) (../winograd.ts): per stride phase, dW's 2x2 taps (a, b) sum
;; X[2 ti + a' + a][2 tj + b' + b] dy[2 ti + a'][2 tj + b'] over the tiles' 2x2 pixels (a', b'), which
;; is F(2, 2) with dy's tile as the filter: U as winoInput writes it, V = G dy_tile G^T, and dW's taps =
;; A^T (sum over tiles of U . V) A.
;;
;; winoDy: V_xi [tiles, Co] = G dy_tile G^T for the tiles of `images` images of dy [images, 2 th, ow,
;; Co], in panels of 16 columns of panelRows rows (as gatherGemm reads b): V_xi's row t, columns
;; o .. o + 3 at v + xi * xiBytes + (o / 16) * panelRows * 64 + t * 64 + (o % 16) * 4. Co a multiple of 16.
  (func (export "winoDy")
    (param $dy i32) (param $co i32) (param $th i32) (param $tw i32) (param $ow i32) (param $images i32)
    (param $v i32) (param $xiBytes i32) (param $panelRows i32)
    (local $t i32) (local $tEnd i32) (local $per i32) (local $rem i32) (local $coBytes i32) (local $rowBytes i32)
    (local $src i32) (local $dst i32) (local $o i32) (local $a i32) (local $panelBytes i32)
    (local $g00 v128) (local $g01 v128) (local $g10 v128) (local $g11 v128) (local $s v128)
    (local.set $coBytes (i32.shl (local.get $co) (i32.const 2)))
    (local.set $rowBytes (i32.mul (local.get $ow) (local.get $coBytes)))
    (local.set $panelBytes (i32.shl (local.get $panelRows) (i32.const 6)))
    (local.set $per (i32.mul (local.get $th) (local.get $tw)))
    (local.set $t (i32.const 0))
    (local.set $tEnd (i32.mul (local.get $images) (local.get $per)))
    (block $done
      (loop $tiles
        (br_if $done (i32.ge_u (local.get $t) (local.get $tEnd)))
        (local.set $rem (i32.rem_u (local.get $t) (local.get $per)))
        (local.set $src (i32.add (local.get $dy)
          (i32.add
            (i32.mul (i32.add (i32.mul (i32.div_u (local.get $t) (local.get $per)) (i32.shl (local.get $th) (i32.const 1)))
              (i32.shl (i32.div_u (local.get $rem) (local.get $tw)) (i32.const 1))) (local.get $rowBytes))
            (i32.mul (i32.shl (i32.rem_u (local.get $rem) (local.get $tw)) (i32.const 1)) (local.get $coBytes)))))
        (local.set $dst (i32.add (local.get $v) (i32.shl (local.get $t) (i32.const 6))))
        (local.set $o (i32.const 0))
        (loop $outs
          (local.set $a (i32.add (local.get $src) (local.get $o)))
          (local.set $g00 (v128.load (local.get $a)))
          (local.set $g01 (v128.load (i32.add (local.get $a) (local.get $coBytes))))
          (local.set $a (i32.add (local.get $a) (local.get $rowBytes)))
          (local.set $g10 (v128.load (local.get $a)))
          (local.set $g11 (v128.load (i32.add (local.get $a) (local.get $coBytes))))
          (local.set $a (i32.add (local.get $dst)
            (i32.add (i32.mul (i32.shr_u (local.get $o) (i32.const 6)) (local.get $panelBytes)) (i32.and (local.get $o) (i32.const 63)))))
          (v128.store (local.get $a) (local.get $g00))
          (local.set $a (i32.add (local.get $a) (local.get $xiBytes)))
          (v128.store (local.get $a) (f32x4.add (local.get $g00) (local.get $g01)))
          (local.set $a (i32.add (local.get $a) (local.get $xiBytes)))
          (v128.store (local.get $a) (local.get $g01))
          (local.set $a (i32.add (local.get $a) (local.get $xiBytes)))
          (local.set $s (f32x4.add (local.get $g00) (local.get $g10)))
          (v128.store (local.get $a) (local.get $s))
          (local.set $a (i32.add (local.get $a) (local.get $xiBytes)))
          (v128.store (local.get $a) (f32x4.add (local.get $s) (f32x4.add (local.get $g01) (local.get $g11))))
          (local.set $a (i32.add (local.get $a) (local.get $xiBytes)))
          (v128.store (local.get $a) (f32x4.add (local.get $g01) (local.get $g11)))
          (local.set $a (i32.add (local.get $a) (local.get $xiBytes)))
          (v128.store (local.get $a) (local.get $g10))
          (local.set $a (i32.add (local.get $a) (local.get $xiBytes)))
          (v128.store (local.get $a) (f32x4.add (local.get $g10) (local.get $g11)))
          (local.set $a (i32.add (local.get $a) (local.get $xiBytes)))
          (v128.store (local.get $a) (local.get $g11))
          (local.set $o (i32.add (local.get $o) (i32.const 16)))
          (br_if $outs (i32.lt_u (local.get $o) (local.get $coBytes))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $tiles))))
;; winoFilterOut: dW [4, 4, Ci, Co]'s taps of the first `count` channels ci (a slice: m and dw moved on
;; by 4 Co bytes per channel) = A^T M A per stride phase from M_xi [4 Ci, Co] (row c' = (p * 2 + q) *
;; Ci + ci of M_xi at m + xi * xiBytes + c' * 4 Co): tap (2a + p, 2b + q). Co a multiple of 4.
  (func (export "winoFilterOut")
    (param $m i32) (param $xiBytes i32) (param $ci i32) (param $co i32) (param $count i32) (param $dw i32)
    (local $c i32) (local $pq i32) (local $o i32) (local $coBytes i32) (local $kwBytes i32) (local $khBytes i32)
    (local $src i32) (local $dst i32) (local $a i32) (local $xi3 i32) (local $xi6 i32)
    (local $m0 v128) (local $m1 v128) (local $m2 v128) (local $s00 v128) (local $s01 v128) (local $s02 v128)
    (local $s10 v128) (local $s11 v128) (local $s12 v128)
    (local.set $coBytes (i32.shl (local.get $co) (i32.const 2)))
    (local.set $kwBytes (i32.mul (local.get $ci) (local.get $coBytes)))
    (local.set $khBytes (i32.shl (local.get $kwBytes) (i32.const 2)))
    (local.set $xi3 (i32.mul (local.get $xiBytes) (i32.const 3)))
    (local.set $xi6 (i32.shl (local.get $xi3) (i32.const 1)))
    (local.set $c (i32.const 0))
    (block $done
      (loop $channels
        (br_if $done (i32.ge_u (local.get $c) (local.get $count)))
        (local.set $pq (i32.const 0))
        (loop $phases
          (local.set $src (i32.add (local.get $m)
            (i32.mul (i32.add (i32.mul (local.get $pq) (local.get $ci)) (local.get $c)) (local.get $coBytes))))
          ;; tap (p, q) of channel c; (2a + p, 2b + q) is 2a khBytes and 2b kwBytes on
          (local.set $dst (i32.add (local.get $dw)
            (i32.add (i32.mul (i32.shr_u (local.get $pq) (i32.const 1)) (local.get $khBytes))
              (i32.add (i32.mul (i32.and (local.get $pq) (i32.const 1)) (local.get $kwBytes))
                (i32.mul (local.get $c) (local.get $coBytes))))))
          (local.set $o (i32.const 0))
          (loop $outs
            (local.set $a (i32.add (local.get $src) (local.get $o)))
            (local.set $m0 (v128.load (local.get $a)))
            (local.set $m1 (v128.load (i32.add (local.get $a) (local.get $xi3))))
            (local.set $m2 (v128.load (i32.add (local.get $a) (local.get $xi6))))
            (local.set $s00 (f32x4.add (local.get $m0) (local.get $m1)))
            (local.set $s10 (f32x4.add (local.get $m1) (local.get $m2)))
            (local.set $a (i32.add (local.get $a) (local.get $xiBytes)))
            (local.set $m0 (v128.load (local.get $a)))
            (local.set $m1 (v128.load (i32.add (local.get $a) (local.get $xi3))))
            (local.set $m2 (v128.load (i32.add (local.get $a) (local.get $xi6))))
            (local.set $s01 (f32x4.add (local.get $m0) (local.get $m1)))
            (local.set $s11 (f32x4.add (local.get $m1) (local.get $m2)))
            (local.set $a (i32.add (local.get $a) (local.get $xiBytes)))
            (local.set $m0 (v128.load (local.get $a)))
            (local.set $m1 (v128.load (i32.add (local.get $a) (local.get $xi3))))
            (local.set $m2 (v128.load (i32.add (local.get $a) (local.get $xi6))))
            (local.set $s02 (f32x4.add (local.get $m0) (local.get $m1)))
            (local.set $s12 (f32x4.add (local.get $m1) (local.get $m2)))
            (local.set $a (i32.add (local.get $dst) (local.get $o)))
            (v128.store (local.get $a) (f32x4.add (local.get $s00) (local.get $s01)))
            (v128.store (i32.add (local.get $a) (i32.shl (local.get $kwBytes) (i32.const 1))) (f32x4.add (local.get $s01) (local.get $s02)))
            (local.set $a (i32.add (local.get $a) (i32.shl (local.get $khBytes) (i32.const 1))))
            (v128.store (local.get $a) (f32x4.add (local.get $s10) (local.get $s11)))
            (v128.store (i32.add (local.get $a) (i32.shl (local.get $kwBytes) (i32.const 1))) (f32x4.add (local.get $s11) (local.get $s12)))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (br_if $outs (i32.lt_u (local.get $o) (local.get $coBytes))))
          (local.set $pq (i32.add (local.get $pq) (i32.const 1)))
          (br_if $phases (i32.lt_u (local.get $pq) (i32.const 4))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $channels))))
;; The input gradient by F(2x2, 2x2) (../winograd.ts): per stride phase (p, q) of dx, a 2x2 convolution
;; of stride 1 over dy padded by one row and column in front, with the phase's taps of the filter flipped.
;;
;; winoInputS1: U_xi [tiles, C] = B^T d B for the tiles of `images` images of x [images, rows, cols, C]
;; (imgBytes and rowBytes apart), tile (ti, tj) reading rows r0 + 2 ti .. + 2 and columns c0 + 2 tj .. + 2
;; (th x tw tiles an image); U_xi's row t at u + xi * xiBytes + t * 4 C. C a multiple of 4.
  (func (export "winoInputS1")
    (param $x i32) (param $imgBytes i32) (param $rowBytes i32) (param $ch i32) (param $th i32) (param $tw i32)
    (param $r0 i32) (param $c0 i32) (param $images i32) (param $u i32) (param $xiBytes i32)
    (local $t i32) (local $tEnd i32) (local $per i32) (local $rem i32) (local $cBytes i32) (local $col2 i32)
    (local $src i32) (local $dst i32) (local $c i32) (local $a i32) (local $o i32)
    (local $d10 v128) (local $d11 v128) (local $d12 v128) (local $e0 v128) (local $e1 v128) (local $e2 v128)
    (local.set $cBytes (i32.shl (local.get $ch) (i32.const 2)))
    (local.set $col2 (i32.shl (local.get $cBytes) (i32.const 1)))
    (local.set $per (i32.mul (local.get $th) (local.get $tw)))
    (local.set $t (i32.const 0))
    (local.set $tEnd (i32.mul (local.get $images) (local.get $per)))
    (block $done
      (loop $tiles
        (br_if $done (i32.ge_u (local.get $t) (local.get $tEnd)))
        (local.set $rem (i32.rem_u (local.get $t) (local.get $per)))
        (local.set $src (i32.add (local.get $x)
          (i32.add (i32.mul (i32.div_u (local.get $t) (local.get $per)) (local.get $imgBytes))
            (i32.add
              (i32.mul (i32.add (local.get $r0) (i32.shl (i32.div_u (local.get $rem) (local.get $tw)) (i32.const 1))) (local.get $rowBytes))
              (i32.mul (i32.add (local.get $c0) (i32.shl (i32.rem_u (local.get $rem) (local.get $tw)) (i32.const 1))) (local.get $cBytes))))))
        (local.set $dst (i32.add (local.get $u) (i32.mul (local.get $t) (local.get $cBytes))))
        (local.set $c (i32.const 0))
        (loop $channels
          (local.set $a (i32.add (i32.add (local.get $src) (local.get $c)) (local.get $rowBytes)))
          (local.set $d10 (v128.load (local.get $a)))
          (local.set $d11 (v128.load (i32.add (local.get $a) (local.get $cBytes))))
          (local.set $d12 (v128.load (i32.add (local.get $a) (local.get $col2))))
          (local.set $o (i32.add (local.get $dst) (local.get $c)))
          (local.set $a (i32.add (local.get $src) (local.get $c)))
          (local.set $e0 (f32x4.sub (v128.load (local.get $a)) (local.get $d10)))
          (local.set $e1 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $cBytes))) (local.get $d11)))
          (local.set $e2 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $col2))) (local.get $d12)))
          (v128.store (local.get $o) (f32x4.sub (local.get $e0) (local.get $e1)))
          (local.set $o (i32.add (local.get $o) (local.get $xiBytes)))
          (v128.store (local.get $o) (local.get $e1))
          (local.set $o (i32.add (local.get $o) (local.get $xiBytes)))
          (v128.store (local.get $o) (f32x4.sub (local.get $e2) (local.get $e1)))
          (local.set $o (i32.add (local.get $o) (local.get $xiBytes)))
          (v128.store (local.get $o) (f32x4.sub (local.get $d10) (local.get $d11)))
          (local.set $o (i32.add (local.get $o) (local.get $xiBytes)))
          (v128.store (local.get $o) (local.get $d11))
          (local.set $o (i32.add (local.get $o) (local.get $xiBytes)))
          (v128.store (local.get $o) (f32x4.sub (local.get $d12) (local.get $d11)))
          (local.set $o (i32.add (local.get $o) (local.get $xiBytes)))
          (local.set $a (i32.add (i32.add (local.get $src) (local.get $c)) (i32.shl (local.get $rowBytes) (i32.const 1))))
          (local.set $e0 (f32x4.sub (v128.load (local.get $a)) (local.get $d10)))
          (local.set $e1 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $cBytes))) (local.get $d11)))
          (local.set $e2 (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $col2))) (local.get $d12)))
          (v128.store (local.get $o) (f32x4.sub (local.get $e0) (local.get $e1)))
          (local.set $o (i32.add (local.get $o) (local.get $xiBytes)))
          (v128.store (local.get $o) (local.get $e1))
          (local.set $o (i32.add (local.get $o) (local.get $xiBytes)))
          (v128.store (local.get $o) (f32x4.sub (local.get $e2) (local.get $e1)))
          (local.set $c (i32.add (local.get $c) (i32.const 16)))
          (br_if $channels (i32.lt_u (local.get $c) (local.get $cBytes))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $tiles))))
;; winoOutputPhase: dx's pixels of one stride phase = A^T M A from M_xi [tiles, Ci] (row t at m + xi *
;; xiBytes + t * 4 Ci) for the tiles of `images` images of dx [images, h, w, Ci]: tile (ti, tj)'s
;; pixel (a, b) is dx's (ih0 + 4 ti + 2a, iw0 + 4 tj + 2b), written where it lies inside dx (a tile's
;; second row or column may lie past it; its first always inside). Ci a multiple of 4.
  (func (export "winoOutputPhase")
    (param $m i32) (param $xiBytes i32) (param $ci i32) (param $th i32) (param $tw i32) (param $images i32)
    (param $dx i32) (param $h i32) (param $w i32) (param $ih0 i32) (param $iw0 i32)
    (local $t i32) (local $tEnd i32) (local $per i32) (local $rem i32) (local $cBytes i32) (local $rowBytes i32)
    (local $ih i32) (local $iw i32) (local $row1 i32) (local $col1 i32)
    (local $src i32) (local $dst i32) (local $o i32) (local $a i32) (local $xi3 i32) (local $xi6 i32)
    (local $m0 v128) (local $m1 v128) (local $m2 v128) (local $s00 v128) (local $s01 v128) (local $s02 v128)
    (local $s10 v128) (local $s11 v128) (local $s12 v128)
    (local.set $cBytes (i32.shl (local.get $ci) (i32.const 2)))
    (local.set $rowBytes (i32.mul (local.get $w) (local.get $cBytes)))
    (local.set $xi3 (i32.mul (local.get $xiBytes) (i32.const 3)))
    (local.set $xi6 (i32.shl (local.get $xi3) (i32.const 1)))
    (local.set $per (i32.mul (local.get $th) (local.get $tw)))
    (local.set $t (i32.const 0))
    (local.set $tEnd (i32.mul (local.get $images) (local.get $per)))
    (block $done
      (loop $tiles
        (br_if $done (i32.ge_u (local.get $t) (local.get $tEnd)))
        (local.set $rem (i32.rem_u (local.get $t) (local.get $per)))
        (local.set $ih (i32.add (local.get $ih0) (i32.shl (i32.div_u (local.get $rem) (local.get $tw)) (i32.const 2))))
        (local.set $iw (i32.add (local.get $iw0) (i32.shl (i32.rem_u (local.get $rem) (local.get $tw)) (i32.const 2))))
        (local.set $row1 (i32.lt_u (i32.add (local.get $ih) (i32.const 2)) (local.get $h)))
        (local.set $col1 (i32.lt_u (i32.add (local.get $iw) (i32.const 2)) (local.get $w)))
        (local.set $dst (i32.add (local.get $dx)
          (i32.mul (i32.add (i32.mul (i32.add (i32.mul (i32.div_u (local.get $t) (local.get $per)) (local.get $h)) (local.get $ih)) (local.get $w))
            (local.get $iw)) (local.get $cBytes))))
        (local.set $src (i32.add (local.get $m) (i32.mul (local.get $t) (local.get $cBytes))))
        (local.set $o (i32.const 0))
        (loop $outs
          (local.set $a (i32.add (local.get $src) (local.get $o)))
          (local.set $m0 (v128.load (local.get $a)))
          (local.set $m1 (v128.load (i32.add (local.get $a) (local.get $xi3))))
          (local.set $m2 (v128.load (i32.add (local.get $a) (local.get $xi6))))
          (local.set $s00 (f32x4.add (local.get $m0) (local.get $m1)))
          (local.set $s10 (f32x4.add (local.get $m1) (local.get $m2)))
          (local.set $a (i32.add (local.get $a) (local.get $xiBytes)))
          (local.set $m0 (v128.load (local.get $a)))
          (local.set $m1 (v128.load (i32.add (local.get $a) (local.get $xi3))))
          (local.set $m2 (v128.load (i32.add (local.get $a) (local.get $xi6))))
          (local.set $s01 (f32x4.add (local.get $m0) (local.get $m1)))
          (local.set $s11 (f32x4.add (local.get $m1) (local.get $m2)))
          (local.set $a (i32.add (local.get $a) (local.get $xiBytes)))
          (local.set $m0 (v128.load (local.get $a)))
          (local.set $m1 (v128.load (i32.add (local.get $a) (local.get $xi3))))
          (local.set $m2 (v128.load (i32.add (local.get $a) (local.get $xi6))))
          (local.set $s02 (f32x4.add (local.get $m0) (local.get $m1)))
          (local.set $s12 (f32x4.add (local.get $m1) (local.get $m2)))
          ;; pixels two columns and two rows apart in dx (the phase's neighbours)
          (local.set $a (i32.add (local.get $dst) (local.get $o)))
          (v128.store (local.get $a) (f32x4.add (local.get $s00) (local.get $s01)))
          (if (local.get $col1)
            (then (v128.store (i32.add (local.get $a) (i32.shl (local.get $cBytes) (i32.const 1))) (f32x4.add (local.get $s01) (local.get $s02)))))
          (if (local.get $row1)
            (then
              (local.set $a (i32.add (local.get $a) (i32.shl (local.get $rowBytes) (i32.const 1))))
              (v128.store (local.get $a) (f32x4.add (local.get $s10) (local.get $s11)))
              (if (local.get $col1)
                (then (v128.store (i32.add (local.get $a) (i32.shl (local.get $cBytes) (i32.const 1))) (f32x4.add (local.get $s11) (local.get $s12)))))))
          (local.set $o (i32.add (local.get $o) (i32.const 16)))
          (br_if $outs (i32.lt_u (local.get $o) (local.get $cBytes))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $tiles))))
;; out[i] = tanh(x[i]) for i in [0, n), within 2 units in the last place of the correctly rounded
;; result (../tanh.ts has the measurement), in place of tfjs-backend-wasm 4.22's scalar loop over the
;; C library's tanhf:
;;  - |x| < 0.375: |x| + |x|^3 * (c3 + x^2 * (c5 + ... c11)), the series' first six terms;
;;  - else, with e = exp(-2|x|) (|x| capped at 20, where tanh is 1 in float32):
;;    tanh|x| = (1 - e) / (1 + e) below 0.75, 1 - 2e / (1 + e) above (each the more accurate there);
;;    exp(t) = 2^k * p(r), k = nearest(t * log2(e)), r = t - k * ln 2 (ln 2 in two
;;    parts), p the series to r^7.
;; and then x's sign: tanh(+-0) = +-0, tanh(+-inf) = +-1, NaN stays NaN.
  (func $tanh4 (param $x v128) (result v128)
    (local $ax v128) (local $x2 v128) (local $small v128) (local $t v128) (local $k v128) (local $r v128)
    (local $p v128) (local $e v128) (local $d v128) (local $y v128)
    (local.set $ax (f32x4.abs (local.get $x)))
    (local.set $x2 (f32x4.mul (local.get $x) (local.get $x)))
    (local.set $small
      (f32x4.add (local.get $ax)
        (f32x4.mul (f32x4.mul (local.get $ax) (local.get $x2))
          (f32x4.add (f32x4.splat (f32.const -0.3333333432674408))
            (f32x4.mul (local.get $x2)
              (f32x4.add (f32x4.splat (f32.const 0.13333334028720856))
                (f32x4.mul (local.get $x2)
                  (f32x4.add (f32x4.splat (f32.const -0.05396825447678566))
                    (f32x4.mul (local.get $x2)
                      (f32x4.add (f32x4.splat (f32.const 0.021869488060474396))
                        (f32x4.mul (local.get $x2) (f32x4.splat (f32.const -0.0088632358238101)))))))))))))
    (local.set $t (f32x4.mul (f32x4.splat (f32.const -2)) (f32x4.min (local.get $ax) (f32x4.splat (f32.const 20)))))
    (local.set $k (f32x4.nearest (f32x4.mul (local.get $t) (f32x4.splat (f32.const 1.4426950216293335)))))
    (local.set $r
      (f32x4.sub
        (f32x4.sub (local.get $t) (f32x4.mul (local.get $k) (f32x4.splat (f32.const 0.693145751953125))))
        (f32x4.mul (local.get $k) (f32x4.splat (f32.const 1.428606765330187e-06)))))
    (local.set $p
      (f32x4.add (f32x4.splat (f32.const 1))
        (f32x4.mul (local.get $r)
          (f32x4.add (f32x4.splat (f32.const 1))
            (f32x4.mul (local.get $r)
              (f32x4.add (f32x4.splat (f32.const 0.5))
                (f32x4.mul (local.get $r)
                  (f32x4.add (f32x4.splat (f32.const 0.1666666716337204))
                    (f32x4.mul (local.get $r)
                      (f32x4.add (f32x4.splat (f32.const 0.0416666679084301))
                        (f32x4.mul (local.get $r)
                          (f32x4.add (f32x4.splat (f32.const 0.008333333767950535))
                            (f32x4.mul (local.get $r)
                              (f32x4.add (f32x4.splat (f32.const 0.0013888889225199819))
                                (f32x4.mul (local.get $r) (f32x4.splat (f32.const 0.00019841270113829523)))))))))))))))))
    ;; 2^k as float bits, (k + 127) << 23 (k in [-58, 0]; 0 for NaN, whose p is NaN anyway)
    (local.set $e
      (f32x4.mul (local.get $p)
        (i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $k)) (i32x4.splat (i32.const 127))) (i32.const 23))))
    (local.set $d (f32x4.add (f32x4.splat (f32.const 1)) (local.get $e)))
    ;; tanh|x| by the range's formula, then x's sign (so tanh(-0) = -0)
    (local.set $y
      (v128.bitselect
        (local.get $small)
        (v128.bitselect
          (f32x4.div (f32x4.sub (f32x4.splat (f32.const 1)) (local.get $e)) (local.get $d))
          (f32x4.sub (f32x4.splat (f32.const 1)) (f32x4.div (f32x4.add (local.get $e) (local.get $e)) (local.get $d)))
          (f32x4.lt (local.get $ax) (f32x4.splat (f32.const 0.75))))
        (f32x4.lt (local.get $ax) (f32x4.splat (f32.const 0.375)))))
    (v128.or (v128.and (local.get $y) (i32x4.splat (i32.const 0x7fffffff)))
      (v128.and (local.get $x) (i32x4.splat (i32.const 0x80000000))))
  )
  (func (export "tanh") (param $x i32) (param $n i32) (param $out i32)
    (local $o i32) (local $end i32)
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $o (i32.const 0))
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.ge_u (local.get $o) (local.get $end)))
        (v128.store (i32.add (local.get $out) (local.get $o)) (call $tanh4 (v128.load (i32.add (local.get $x) (local.get $o)))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (br $vec)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $oneDone
      (loop $one
        (br_if $oneDone (i32.ge_u (local.get $o) (local.get $end)))
        (f32.store (i32.add (local.get $out) (local.get $o))
          (f32x4.extract_lane 0 (call $tanh4 (f32x4.splat (f32.load (i32.add (local.get $x) (local.get $o)))))))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $one))))
)
