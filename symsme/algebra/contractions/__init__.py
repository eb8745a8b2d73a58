r"""Coordinate-free d-dimensional terms: canonical contraction graphs of derivative tensors.

In :math:`d` dimensions every coefficient of the modified equation is an exact-rational sum of
*contractions* of the tensors

.. math::

    F_j = \nabla^j f \ (j \ge 1,\ \text{rank } j,\ \text{fully symmetric}), \qquad
    S_j = \nabla^j \Sigma \ (j \ge 0,\ \text{rank } 2 + j), \qquad
    K_n \ (n \ge 3,\ \text{rank } n,\ \text{fully symmetric}),

(:math:`F_1 = g`, :math:`F_2 = H`, :math:`F_3 = T`; :math:`S_j` is symmetric in its two
:math:`\Sigma` indices and, separately, in its :math:`j` derivative indices; :math:`K_n` is the
:math:`n`-th cumulant tensor of the gradient noise, needed only by the mismatch report) and,
inside the generator expansion, of the displacement :math:`z = y - x` (rank 1, node ``Z``).

Such a term is the d-dimensional analogue of an *elementary differential* (Hairer, Lubich,
Wanner, *Geometric Numerical Integration*, ch. III.1 and IX): a vertex-coloured multigraph
whose vertices are tensors and whose edges are summed index pairs.  Unlike rooted trees these
graphs may have multi-edges and cycles, because :math:`D:\nabla^2` contracts two indices at
once (e.g. :math:`T_{iab}\Sigma_{ab}`, or :math:`\operatorname{tr}(H\Sigma)`-like loops).

Representation
--------------
A node has a *type code* ``4*j + kind`` (kind 0: :math:`F_j`, 1: :math:`S_j`, 2: :math:`K_j`,
3: ``Z``).  Its legs fall into *symmetry classes* (:math:`F_j, K_n, Z`: one class;
:math:`S_j`: class 0 = the two :math:`\Sigma` legs, class 1 = the :math:`j` derivative legs);
legs inside a class are interchangeable, so an edge only needs to know the *port*
``2*node + class`` at each end.  A term with :math:`r` free indices has *labelled* free legs
``0..r-1`` (a vector has one, :math:`D_k` has two: first and second index, never symmetrized;
the :math:`n`-th moment has :math:`n`).  The canonical key of a term is the tuple of ints

``(types, edges, free)``
    ``types[u]`` the type code of node ``u``; ``edges`` the sorted codes ``(p << 8) | q``
    (``p <= q`` ports, repeated for multi-edges); ``free[i]`` the port of free leg ``i``, or
    ``-(j + 1)`` when free legs ``i`` and ``j`` are joined by a Kronecker delta (only in
    intermediate results of :math:`\nabla`, never in a stored coefficient).

Canonical form
--------------
Equal tensors (the same multigraph up to renumbering the nodes and permuting legs inside a
class) must get equal keys.  We use *individualisation-refinement*, the scheme behind nauty and
bliss, which is ample for graphs of a dozen nodes: colour refinement (1-dimensional
Weisfeiler-Leman) starting from (type, free legs per class) and refining by the multiset of
(own class, neighbour colour, neighbour class) over incident edges; while a colour class has
several nodes, each of them is individualised in turn and refinement repeated; among the
discrete leaves the lexicographically least key is the canonical one.  Every connected
component of a term of the generator expansion carries a labelled free leg
(:math:`z^{\otimes n}` starts with one component per free leg, and :math:`b\cdot\nabla`,
:math:`D:\nabla^2` only join components), so refinement alone almost always separates all nodes
and the search tree is a single leaf; ties are left only by automorphisms such as the two
``g`` of ``T[g, g]``.  The gradient of each key and each (key, coefficient-term) product are
memoized, so a canonical form is computed once per distinct product.  (SymPy's
Butler-Portugal tensor canonicalisation was measured as an alternative: on the 179 terms of
:math:`b_4, D_4` it takes about 10 ms per term against about 35 us here, i.e. some 300 times
slower, and it needs a tensor head per node type.)

Series are plain dicts key -> :class:`fractions.Fraction` (:mod:`symsme.algebra.lincomb`), the
way BSeries.jl stores a truncated B-series as a dict from canonical rooted trees to rationals
(Ketcheson, Ranocha).
"""

from __future__ import annotations

from symsme.algebra.contractions.basis import CONTRACTIONS, ContractionBasis
from symsme.algebra.contractions.calculus import (
    ContractionAlgebra,
    clear_memo,
    contract,
    gradient,
    gradient_moment,
    set_partitions,
)
from symsme.algebra.contractions.classify import hessian_aware_exponents, is_hessian_only, to_jets
from symsme.algebra.contractions.evaluate import evaluate, evaluate_sympy, jet_orders, sympy_jets
from symsme.algebra.contractions.graphs import (
    F_KIND,
    K_KIND,
    S_KIND,
    Z_CODE,
    Z_KIND,
    Key,
    canonical_key,
    check_key,
    class_sizes,
    decode,
    hessian_power_gradient,
    hessian_sandwich,
    relabel_free,
    term,
    transpose,
    type_code,
    type_rank,
)
from symsme.algebra.contractions.printing import (
    term_to_json,
    term_to_latex,
    term_to_text,
    to_json,
    to_latex,
    to_text,
)

__all__ = [
    "CONTRACTIONS",
    "ContractionBasis",
    "gradient_moment",
    "set_partitions",
    "clear_memo",
    "Key",
    "F_KIND",
    "S_KIND",
    "K_KIND",
    "Z_KIND",
    "Z_CODE",
    "type_code",
    "type_rank",
    "class_sizes",
    "canonical_key",
    "decode",
    "term",
    "check_key",
    "hessian_power_gradient",
    "hessian_sandwich",
    "relabel_free",
    "transpose",
    "gradient",
    "contract",
    "ContractionAlgebra",
    "to_jets",
    "hessian_aware_exponents",
    "is_hessian_only",
    "to_text",
    "to_latex",
    "term_to_text",
    "term_to_latex",
    "term_to_json",
    "to_json",
    "evaluate",
    "evaluate_sympy",
    "sympy_jets",
    "jet_orders",
]
