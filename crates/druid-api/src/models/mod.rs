//! Typed request and response bodies.
//!
//! Every model tolerates fields it does not know (Druid adds fields between
//! releases), and fields that older releases leave out are `Option`s or have
//! defaults. Configuration documents that are read, changed and written back
//! keep unknown fields in an `extra` map, so a round trip loses nothing.
//! Where no model fits, the generated methods answer `serde_json::Value`.

/// Defines a string enum with an `Other` fallback for values a newer Druid
/// may send.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this client does not know, as Druid sent it.
            Other(String),
        }

        impl $name {
            /// The texts of the values this client knows, in order (the
            /// query parameters of this type in
            /// [`catalog`](crate::catalog) list them).
            pub const VALUES: &'static [&'static str] = &[$($text),*];

            /// The text Druid uses.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )*
                    $name::Other(text) => text,
                }
            }

            /// Parses Druid's text (case-insensitively); unknown text is `Other`.
            pub fn parse(text: &str) -> Self {
                $( if text.eq_ignore_ascii_case($text) { return $name::$variant; } )*
                $name::Other(text.to_owned())
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                let text = <::std::string::String as ::serde::Deserialize>::deserialize(d)?;
                Ok($name::parse(&text))
            }
        }
    };
}

mod common;
mod coordinator;
mod overlord;
mod security;
mod sql;
mod statements;

pub use common::*;
pub use coordinator::*;
pub use overlord::*;
pub use security::*;
pub use sql::*;
pub use statements::*;
