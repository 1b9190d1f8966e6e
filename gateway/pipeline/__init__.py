"""The request pipeline: one request's context, its stages in order, and the record it leaves behind."""
