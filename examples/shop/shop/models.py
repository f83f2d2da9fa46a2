import enum
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from common.db import Base


class OrderStatus(enum.Enum):
    cart = "cart"
    paid = "paid"
    shipped = "shipped"


class Product(Base):
    __tablename__ = "product"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(sa.String(32), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200), index=True)
    price: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    __table_args__ = (sa.CheckConstraint("price >= 0", name="ck_product_price_positive"),)


class Order(Base):
    __tablename__ = "shop_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The one cross-app reference: shop's migrations depend on accounts'.
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    status: Mapped[OrderStatus] = mapped_column(sa.Enum(OrderStatus, name="order_status"))


order_line = sa.Table(
    "order_line",
    Base.metadata,
    sa.Column("order_id", sa.ForeignKey("shop_order.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("product_id", sa.ForeignKey("product.id"), primary_key=True),
    sa.Column("quantity", sa.Integer, nullable=False, server_default="1"),
)
