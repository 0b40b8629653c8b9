// The four object shapes of the synthetic data as unit shapes (radius 1, centred at the
// origin, y pointing down), shared by the generator that draws them and the detector that
// fits them back to what it sees, so the two cannot drift apart.
//
// Pure functions; thread-safe.
#ifndef VIDSERVE_DATA_SHAPE_GEOMETRY_H_
#define VIDSERVE_DATA_SHAPE_GEOMETRY_H_

#include "data/clip_attributes.h"

namespace vidserve::data {

inline constexpr double kPi = 3.14159265358979323846;

// Geometry in units of the radius: the square's half side, the diamond's half diagonals
// (taller than wide, so it is never a rotated square), the triangle's circumradius (the
// inradius is half of it; the triangle points up and its centroid is the origin).
inline constexpr double kSquareHalfSide = 0.85;
inline constexpr double kDiamondHalfWidth = 0.72;
inline constexpr double kDiamondHalfHeight = 1.2;
inline constexpr double kTriangleCircumradius = 1.15;

// Whether (x, y) lies inside the unrotated unit shape.
bool InsideUnitShape(Shape shape, double x, double y);

// The object's farthest extent from its centre, in units of the radius; keeping
// centre +- extent inside the frame keeps the whole object visible.
double ShapeExtent(Shape shape);

// The unit shape's area (radius 1).
double UnitShapeArea(Shape shape);

// The smallest rotation, in degrees, that maps the shape onto itself (0 for the circle,
// which every rotation does).
double RotationalPeriodDegrees(Shape shape);

}  // namespace vidserve::data

#endif  // VIDSERVE_DATA_SHAPE_GEOMETRY_H_
