"""The Dash app for exploring co-design studies: Pareto fronts and design drill-down."""
