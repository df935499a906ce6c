"""jaxtyping aliases used in signatures across diffsc."""

from jaxtyping import Array, ArrayLike, Bool, Float, Int

Scalar = Float[Array, ""]
ScalarLike = float | Float[ArrayLike, ""]
EnergyGrid = Float[Array, " energy"]
Occupation = Float[Array, " energy"]

__all__ = ["Array", "ArrayLike", "Bool", "Float", "Int", "Scalar", "ScalarLike", "EnergyGrid", "Occupation"]
