"""The public transparency view (anonymous): awarded grants of decided windows."""
