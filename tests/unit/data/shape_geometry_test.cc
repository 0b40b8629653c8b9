#include "data/shape_geometry.h"

#include <cmath>

#include "gtest/gtest.h"

namespace vidserve::data {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Fraction of grid points over [-1.5, 1.5]^2 where `a` and `b` disagree, and the area
// inside `a`.
template <typename A, typename B>
double DisagreementFraction(A a, B b, int n = 600) {
  int differ = 0;
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      const double x = -1.5 + 3.0 * (i + 0.5) / n, y = -1.5 + 3.0 * (j + 0.5) / n;
      differ += a(x, y) != b(x, y);
    }
  }
  return static_cast<double>(differ) / (n * n);
}

bool InsideRotated(Shape shape, double degrees, double x, double y) {
  const double a = degrees * kPi / 180, c = std::cos(a), s = std::sin(a);
  return InsideUnitShape(shape, c * x + s * y, -s * x + c * y);
}

TEST(ShapeGeometry, UnitAreasMatchTheDrawnShapes) {
  for (Shape shape : kAllShapes) {
    const int n = 1500;
    int inside = 0;
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j) {
        inside += InsideUnitShape(shape, -1.5 + 3.0 * (i + 0.5) / n, -1.5 + 3.0 * (j + 0.5) / n);
      }
    }
    const double area = 9.0 * inside / (static_cast<double>(n) * n);
    EXPECT_NEAR(area, UnitShapeArea(shape), 0.005 * UnitShapeArea(shape)) << ShapeName(shape);
  }
}

TEST(ShapeGeometry, TheRotationalPeriodIsTheSmallestSymmetry) {
  for (Shape shape : kAllShapes) {
    const double period = RotationalPeriodDegrees(shape);
    const double turn = period > 0 ? period : 37;  // the circle: any rotation
    EXPECT_LT(
        DisagreementFraction([&](double x, double y) { return InsideUnitShape(shape, x, y); },
                             [&](double x, double y) { return InsideRotated(shape, turn, x, y); }),
        0.002)
        << ShapeName(shape);
    if (period > 0) {  // half the period is no symmetry
      EXPECT_GT(DisagreementFraction(
                    [&](double x, double y) { return InsideUnitShape(shape, x, y); },
                    [&](double x, double y) { return InsideRotated(shape, period / 2, x, y); }),
                0.02)
          << ShapeName(shape);
    }
  }
}

TEST(ShapeGeometry, ExtentBoundsTheShapeTightly) {
  for (Shape shape : kAllShapes) {
    double reach = 0;
    const int n = 800;
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j) {
        const double x = -1.5 + 3.0 * (i + 0.5) / n, y = -1.5 + 3.0 * (j + 0.5) / n;
        if (InsideUnitShape(shape, x, y)) reach = std::max(reach, std::hypot(x, y));
      }
    }
    EXPECT_LE(reach, ShapeExtent(shape)) << ShapeName(shape);
    EXPECT_GE(reach, ShapeExtent(shape) - 0.01) << ShapeName(shape);
  }
}

TEST(ShapeGeometry, TheDiamondIsTallerThanWideAndNoRotatedSquare) {
  EXPECT_TRUE(InsideUnitShape(Shape::kDiamond, 0, 1.1));
  EXPECT_FALSE(InsideUnitShape(Shape::kDiamond, 1.1, 0));
  // No rotation of the square covers the diamond to within a few percent.
  for (double degrees = 0; degrees < 90; degrees += 5) {
    EXPECT_GT(DisagreementFraction(
                  [](double x, double y) { return InsideUnitShape(Shape::kDiamond, x, y); },
                  [&](double x, double y) { return InsideRotated(Shape::kSquare, degrees, x, y); }),
              0.05);
  }
}

}  // namespace
}  // namespace vidserve::data
