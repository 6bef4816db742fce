//! A small typed model of the function under `#[isolated]`: what the
//! expansion needs to know, read once from syn's tree.

use std::collections::HashSet;

use proc_macro2::Span;
use quote::format_ident;
use syn::spanned::Spanned;
use syn::{
    Attribute, Block, FnArg, Generics, Ident, Pat, Receiver, ReturnType, Signature, Type,
    Visibility,
};

use crate::locate::{place_of, Place};
use crate::types::{result_shape, supplied, ResultShape, Supplied};

/// Where the function stands, which decides how the sibling calls it.
pub(crate) enum Context<'a> {
    /// A free function: the sibling calls `name(..)`.
    Free,
    /// An associated function or method of an `impl` block in sight (with
    /// `#[isolated]` on the block): the sibling calls `Self::name(..)`.
    Impl {
        generics: &'a Generics,
        self_ty: &'a Type,
    },
}

/// The function as written.
pub(crate) struct Function<'a> {
    pub(crate) attrs: &'a [Attribute],
    pub(crate) vis: &'a Visibility,
    pub(crate) sig: &'a Signature,
    /// The body, read only for a `Self` that tells an associated function
    /// from a free one.
    pub(crate) block: Option<&'a Block>,
}

/// One typed argument.
pub(crate) struct Arg<'a> {
    pub(crate) attrs: &'a [Attribute],
    pub(crate) ty: &'a Type,
    /// The sibling's parameter name: the user's, when the pattern is a plain
    /// name that does not shadow the function, or a generated one.
    pub(crate) name: Ident,
    /// A `Progress<P>` or `Port<In, Out>` parameter: the sibling does not
    /// take it, but supplies it and returns the matching handle.
    pub(crate) supplied: Option<Supplied<'a>>,
}

/// What the function returns, and so what the handle carries.
pub(crate) enum Output<'a> {
    /// No return type: `IsolateHandle<()>`.
    Unit,
    /// `-> !`: nothing to hand back.
    Never(Span),
    /// Any other type: `IsolateHandle<R>`.
    Plain(&'a Type),
    /// A `Result`, folded: `IsolateHandle<T, E>`.
    Folded {
        ty: &'a Type,
        shape: ResultShape<'a>,
    },
}

/// Which return types are folded into the handle's error.
#[derive(Clone, Copy)]
pub(crate) enum Fold {
    /// A type whose last path segment is `Result`: the default.
    Named,
    /// Any type (`fold`): an alias of `Result` under another name, checked
    /// by the compiler through `FoldResult`.
    Always,
    /// None (`no_fold`).
    Never,
}

/// The whole model.
pub(crate) struct Model<'a> {
    pub(crate) func: Function<'a>,
    pub(crate) in_impl: bool,
    pub(crate) receiver: Option<&'a Receiver>,
    pub(crate) args: Vec<Arg<'a>>,
    pub(crate) output: Output<'a>,
    /// Type parameters whose bounds can only be checked at the caller: the
    /// function's own, and the `impl` block's when known.
    pub(crate) generics: HashSet<Ident>,
    /// Whether `Self` may be generic (an `impl` block with type parameters).
    pub(crate) self_is_generic: bool,
    /// An associated function whose `impl` block is out of sight: any type
    /// may name one of the block's parameters, so every bound is checked
    /// where the sibling is called.
    pub(crate) impl_unseen: bool,
    /// The `impl` block's generics and self type, when in sight.
    pub(crate) impl_block: Option<(&'a Generics, &'a Type)>,
    /// Under the method-level attribute alone, where the source file says
    /// the function stands (a trait impl is refused).
    pub(crate) place: Option<Place>,
}

impl<'a> Model<'a> {
    pub(crate) fn new(func: Function<'a>, context: &Context<'a>, fold: Fold) -> Self {
        let sig = func.sig;
        let receiver = sig.receiver();
        let place = match context {
            Context::Impl { .. } => None,
            Context::Free => place_of(sig, func.block),
        };
        let in_impl = match context {
            Context::Impl { .. } => true,
            // Without the `impl` block in sight, what tells an associated
            // function from a free one: `self`, `Self` in the signature or
            // the body, or a type parameter the function does not declare
            // (`-> Slab<T>`), or else the source file.
            Context::Free => {
                receiver.is_some()
                    || mentions_self(quote::quote!(#sig), false)
                    || func.block.is_some_and(|block| {
                        mentions_self(
                            block
                                .stmts
                                .iter()
                                .map(quote::ToTokens::to_token_stream)
                                .collect(),
                            true,
                        )
                    })
                    || match place {
                        // `fn new() -> Parser` in an `impl` block: only its
                        // source file can tell.
                        Some(Place::InherentImpl(_) | Place::TraitImpl | Place::Trait) => true,
                        // The file overrules the guess by name below: a
                        // type of the module may be named `E` or `V2`.
                        Some(Place::Free) => false,
                        None => names_undeclared_parameter(sig),
                    }
            }
        };
        let impl_unseen = in_impl && matches!(context, Context::Free);
        let mut generics: HashSet<Ident> = sig
            .generics
            .type_params()
            .map(|p| p.ident.clone())
            .collect();
        let mut self_is_generic = false;
        let mut impl_block = None;
        if let Context::Impl {
            generics: impl_generics,
            self_ty,
        } = context
        {
            impl_block = Some((*impl_generics, *self_ty));
            generics.extend(impl_generics.type_params().map(|p| p.ident.clone()));
            self_is_generic = impl_generics
                .params
                .iter()
                .any(|p| !matches!(p, syn::GenericParam::Lifetime(_)));
        }
        let args = sig
            .inputs
            .iter()
            .filter_map(|input| match input {
                FnArg::Typed(typed) => Some(typed),
                FnArg::Receiver(_) => None,
            })
            .enumerate()
            .map(|(index, typed)| Arg {
                attrs: &typed.attrs,
                ty: &typed.ty,
                name: parameter_name(&typed.pat, index, &sig.ident),
                supplied: supplied(&typed.ty),
            })
            .collect();
        let output = match &sig.output {
            ReturnType::Default => Output::Unit,
            ReturnType::Type(_, ty) => match &**ty {
                Type::Never(never) => Output::Never(never.span()),
                Type::Tuple(tuple) if tuple.elems.is_empty() => Output::Unit,
                ty => match (fold, result_shape(ty)) {
                    (Fold::Never, _) => Output::Plain(ty),
                    (_, Some(shape)) => Output::Folded { ty, shape },
                    (Fold::Always, None) => Output::Folded {
                        ty,
                        shape: ResultShape::Alias,
                    },
                    (Fold::Named, None) => Output::Plain(ty),
                },
            },
        };
        Model {
            func,
            in_impl,
            receiver,
            args,
            output,
            generics,
            self_is_generic,
            impl_unseen,
            impl_block,
            place,
        }
    }

    /// The (first) parameter the sibling supplies, if any.
    pub(crate) fn supplied(&self) -> Option<Supplied<'a>> {
        self.args.iter().find_map(|arg| arg.supplied)
    }

    /// Whether the function is an `async fn`.
    pub(crate) fn is_async(&self) -> bool {
        self.func.sig.asyncness.is_some()
    }
}

/// The user's name for a plain `name` or `mut name` pattern, unless it would
/// shadow the function the sibling calls; otherwise `argN`.
fn parameter_name(pat: &Pat, index: usize, function: &Ident) -> Ident {
    if let Pat::Ident(pat) = pat {
        if pat.by_ref.is_none()
            && pat.subpat.is_none()
            && pat.ident != *function
            && pat.ident != "self"
        {
            return Ident::new(&pat.ident.to_string(), pat.ident.span());
        }
    }
    format_ident!("arg{}", index, span = Span::mixed_site())
}

/// Whether the tokens name `Self`, which only an associated function can;
/// with `skip_items`, not counting the items nested in a body (`impl`, `trait`, `struct`,
/// `enum`, `union`, `fn`), whose `Self` is their own.
fn mentions_self(tokens: proc_macro2::TokenStream, skip_items: bool) -> bool {
    let mut in_item = false;
    for tree in tokens {
        match tree {
            proc_macro2::TokenTree::Ident(ident) => {
                if skip_items
                    && ["impl", "trait", "struct", "enum", "union", "fn"]
                        .iter()
                        .any(|keyword| ident == keyword)
                {
                    in_item = true;
                } else if ident == "Self" && !in_item {
                    return true;
                }
            }
            proc_macro2::TokenTree::Group(group) => {
                if in_item && group.delimiter() == proc_macro2::Delimiter::Brace {
                    in_item = false;
                } else if !in_item && mentions_self(group.stream(), skip_items) {
                    return true;
                }
            }
            proc_macro2::TokenTree::Punct(punct) => {
                if punct.as_char() == ';' {
                    in_item = false;
                }
            }
            proc_macro2::TokenTree::Literal(_) => {}
        }
    }
    false
}

/// Whether the signature names a type parameter it does not declare: a
/// capital letter, perhaps with a digit (`T`, `K`, `S2`), as type
/// parameters are conventionally named, which only the `impl` block can
/// declare. The function's own type and const parameters (`Buf<N>`) are
/// declared. A guess, asked only when the source file cannot tell.
fn names_undeclared_parameter(sig: &Signature) -> bool {
    struct Finder {
        declared: HashSet<String>,
        found: bool,
    }
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_type_path(&mut self, path: &'ast syn::TypePath) {
            if path.qself.is_none() && path.path.leading_colon.is_none() {
                if let Some(first) = path.path.segments.first() {
                    let name = first.ident.to_string();
                    // `T`, `K`, `T1`; not `ID` or `IO`, which are types.
                    let mut chars = name.chars();
                    let looks_like_parameter = name.len() <= 2
                        && chars.next().is_some_and(|c| c.is_ascii_uppercase())
                        && chars.all(|c| c.is_ascii_digit());
                    if looks_like_parameter && !self.declared.contains(&name) {
                        self.found = true;
                    }
                }
            }
            syn::visit::visit_type_path(self, path);
        }
    }
    let declared = type_and_const_params(&sig.generics)
        .map(ToString::to_string)
        .collect();
    let mut finder = Finder {
        declared,
        found: false,
    };
    syn::visit::Visit::visit_signature(&mut finder, sig);
    finder.found
}

/// The names of a signature's or block's type and const parameters: what a
/// turbofish passes and what a type may name (lifetimes left out).
pub(crate) fn type_and_const_params(generics: &Generics) -> impl Iterator<Item = &Ident> {
    generics.params.iter().filter_map(|param| match param {
        syn::GenericParam::Type(param) => Some(&param.ident),
        syn::GenericParam::Const(param) => Some(&param.ident),
        syn::GenericParam::Lifetime(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::names_undeclared_parameter;

    #[test]
    fn the_functions_own_parameters_are_declared() {
        let declared: syn::Signature =
            syn::parse_quote!(fn fill<const N: usize, T>(b: Buf<N>, t: T));
        assert!(!names_undeclared_parameter(&declared));
        let undeclared: syn::Signature = syn::parse_quote!(fn get(i: usize) -> Slab<T>);
        assert!(names_undeclared_parameter(&undeclared));
    }
}
