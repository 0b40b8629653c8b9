#include "data/shape_geometry.h"

#include <algorithm>
#include <cmath>

namespace vidserve::data {

bool InsideUnitShape(Shape shape, double x, double y) {
  switch (shape) {
    case Shape::kCircle: return x * x + y * y <= 1.0;
    case Shape::kSquare: return std::max(std::abs(x), std::abs(y)) <= kSquareHalfSide;
    case Shape::kDiamond:
      return std::abs(x) / kDiamondHalfWidth + std::abs(y) / kDiamondHalfHeight <= 1.0;
    case Shape::kTriangle: {
      // Pointing up (y grows downward): outward edge normals at 90, 210 and 330 degrees.
      const double in = kTriangleCircumradius / 2;
      const double c = std::sqrt(3.0) / 2;
      return y <= in && -c * x - 0.5 * y <= in && c * x - 0.5 * y <= in;
    }
  }
  return false;
}

double ShapeExtent(Shape shape) {
  switch (shape) {
    case Shape::kCircle: return 1.0;
    case Shape::kSquare: return kSquareHalfSide * std::sqrt(2.0);
    case Shape::kDiamond: return std::max(kDiamondHalfWidth, kDiamondHalfHeight);
    case Shape::kTriangle: return kTriangleCircumradius;
  }
  return 1.0;
}

double UnitShapeArea(Shape shape) {
  switch (shape) {
    case Shape::kCircle: return kPi;
    case Shape::kSquare: return 4 * kSquareHalfSide * kSquareHalfSide;
    case Shape::kDiamond: return 2 * kDiamondHalfWidth * kDiamondHalfHeight;
    case Shape::kTriangle:
      return 3 * std::sqrt(3.0) / 4 * kTriangleCircumradius * kTriangleCircumradius;
  }
  return kPi;
}

double RotationalPeriodDegrees(Shape shape) {
  switch (shape) {
    case Shape::kCircle: return 0;
    case Shape::kSquare: return 90;
    case Shape::kTriangle: return 120;
    case Shape::kDiamond: return 180;
  }
  return 0;
}

}  // namespace vidserve::data
